-- Headless Neovim test of the codeflow plugin against the real server.
--   nvim --headless -u NONE -i NONE --cmd "set rtp+=editors/nvim" -c "luafile editors/nvim/tests/run.lua"
-- Env: CODEFLOW_SERVER (executable, default codeflow), CODEFLOW_MODEL (model dir; default bundled), CODEFLOW_WORKSPACE (a dir to edit in),
--      CODEFLOW_NVIM_RESULT (JSON result file), CODEFLOW_NVIM_PARTS ("attach,ghost,chat,tests"; default all),
--      CODEFLOW_TIMEOUT_S (per wait, default 180),
--      CODEFLOW_NVIM_SETUP ("setup": require("codeflow").setup{cmd=...}; "lsp-config": 0.11+
--        vim.lsp.config('codeflow', {...}) + vim.lsp.enable('codeflow') + setup{}),
--      CODEFLOW_NVIM_NATIVE=1 (setup{native_inline=true}: vim.lsp.inline_completion on 0.12+).
-- Steps run from timers so that Neovim's main loop processes the typed keys (insert-mode
-- autocmds fire as for a user). Exits 0 when every check passed, 1 otherwise.
local result_path = os.getenv("CODEFLOW_NVIM_RESULT")
local server = os.getenv("CODEFLOW_SERVER") or "codeflow"
local ws = os.getenv("CODEFLOW_WORKSPACE") or vim.fn.tempname()
local timeout_ms = tonumber(os.getenv("CODEFLOW_TIMEOUT_S") or "180") * 1000
local parts = {}
for p in (os.getenv("CODEFLOW_NVIM_PARTS") or "attach,ghost,chat,tests"):gmatch("[^,]+") do
  parts[p] = true
end

local setup_style = os.getenv("CODEFLOW_NVIM_SETUP") or "setup"
local want_native = os.getenv("CODEFLOW_NVIM_NATIVE") == "1"
local results = {
  checks = {},
  nvim = tostring(vim.version().major .. "." .. vim.version().minor .. "." .. vim.version().patch),
  setup_style = setup_style,
}
local failed = false

local function finish()
  results.ok = not failed
  if result_path then
    local f = assert(io.open(result_path, "w"))
    f:write(vim.fn.json_encode(results))
    f:close()
  end
  io.stdout:write(vim.fn.json_encode(results) .. "\n")
  local c = require("codeflow.client").get()
  if c then
    require("codeflow.util").stop_client(c)
  end
  vim.defer_fn(function()
    vim.cmd(failed and "cquit 1" or "qall!")
  end, 200)
end

local function check(name, cond, detail)
  table.insert(results.checks, { name = name, ok = cond and true or false, detail = detail })
  if not cond then
    failed = true
    io.stderr:write("FAIL " .. name .. ": " .. vim.inspect(detail) .. "\n")
  else
    io.stderr:write("ok   " .. name .. "\n")
  end
  return cond
end

-- A tiny sequencer: each step gets `next`; wait_until polls without blocking the main loop.
local steps, idx = {}, 0
local function step(fn)
  table.insert(steps, fn)
end
local function run_next()
  idx = idx + 1
  if failed or idx > #steps then
    return finish()
  end
  local ok, err = pcall(steps[idx], run_next)
  if not ok then
    check("step " .. idx .. " raised", false, err)
    finish()
  end
end
local function state()
  local g = package.loaded["codeflow.ghost"]
  return {
    mode = vim.fn.mode(),
    line = vim.api.nvim_get_current_line(),
    ghost_last = g and g.last,
    chat_last = package.loaded["codeflow.chat"] and package.loaded["codeflow.chat"].last,
    status = package.loaded["codeflow.client"] and package.loaded["codeflow.client"].status,
  }
end
local function wait_until(what, cond, k, ms)
  local t0 = vim.loop.now()
  local function poll()
    local ok, v = pcall(cond)
    if ok and v then
      return k()
    end
    if vim.loop.now() - t0 > (ms or timeout_ms) then
      check("wait: " .. what, false, { error = (not ok) and v or "timed out", state = state() })
      return finish()
    end
    vim.defer_fn(poll, 20)
  end
  poll()
end
local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "t", false)
end

-- Types `first`, then one more character of `more` each time the server answers with nothing,
-- until a suggestion is on screen (a small model may have nothing to say at some positions).
local function keys_of(s)
  local out = {}
  for _, ch in ipairs(vim.split(s, "", { plain = true })) do
    table.insert(out, ch == "\n" and "<CR>" or ch)
  end
  return out
end

local function until_suggestion(first, more_text, k)
  local g = require("codeflow.ghost")
  local more = keys_of(more_text)
  local tries = 0
  g.last = nil
  feed(first)
  local function again()
    wait_until("a ghost text extmark", function()
      return (g.current ~= nil and g.shown_text(0) ~= nil) or (g.last ~= nil and not g.last.shown)
    end, function()
      if g.current ~= nil then
        return k()
      end
      tries = tries + 1
      results.empty_answers = (results.empty_answers or 0) + 1
      if tries > #more then
        check("a suggestion within " .. #more .. " keystrokes", false, state())
        return finish()
      end
      g.last = nil
      feed(more[tries])
      again()
    end)
  end
  again()
end

-- Workspace and file.
vim.fn.mkdir(ws, "p")
local file = ws .. "/calc.py"
local f = assert(io.open(file, "w"))
f:write('"""Tiny calculator."""\n\n\ndef add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n')
f:close()

-- Record what the plugin sends.
local sent = {}
local util = require("codeflow.util")
local orig_notify = util.rpc_notify
util.rpc_notify = function(c, method, params)
  table.insert(sent, { method = method, params = params })
  return orig_notify(c, method, params)
end
local codeflow = require("codeflow")
local model = os.getenv("CODEFLOW_MODEL") -- a model dir instead of the bundled one
local settings = vim.tbl_extend(
  "force",
  { tests = { trusted = true } },
  (model and model ~= "") and { modelPath = model, context = { budgetTokens = 384 }, chat = { budgetTokens = 384 } } or {}
)
if setup_style == "lsp-config" then
  -- As a 0.11+ user writes it: filetype detection on (as in any init.lua), the server's config
  -- through vim.lsp.config (merged with the plugin's lsp/codeflow.lua), vim.lsp.enable, then
  -- setup{} for ghost text and commands.
  vim.cmd("filetype on")
  vim.lsp.config("codeflow", { cmd = { server, "serve" }, init_options = settings, settings = { codeflow = settings } })
  vim.lsp.enable("codeflow")
  codeflow.setup({ ghost = { debounce_ms = 30 }, native_inline = want_native })
else
  codeflow.setup({ cmd = { server, "serve" }, ghost = { debounce_ms = 30 }, settings = settings, native_inline = want_native })
end
local client = require("codeflow.client")
local ghost = require("codeflow.ghost")
local chat = require("codeflow.chat")
local native = require("codeflow.native")
results.completion_path = codeflow.completion_path()

step(function(next)
  -- Pure helpers: word/line splitting for partial accepts, text sanitising, UTF-16 lengths,
  -- the visible part of an item whose range starts before the cursor, @references.
  check("next_word_len", ghost.next_word_len("  foo(bar)") == 5 and ghost.next_word_len("(bar)") == 1 and ghost.next_word_len("x") == 1)
  check("next_line_len", ghost.next_line_len("ab\ncd") == 2 and ghost.next_line_len("\n    cd\nx") == 7 and ghost.next_line_len("abc") == 3)
  check("sanitize", ghost.sanitize("a\r\nb\rc\0d\te") == "a\nb\ncd\te")
  check("utf16_len", require("codeflow.util").utf16_len("aé😀") == 4)
  check(
    "visible_part",
    ghost.visible_part({ insertText = "return x", range = { start = { line = 3, character = 4 }, ["end"] = { line = 3, character = 7 } } }, 3, 7, "    ret", "utf-16") == "urn x"
      and ghost.visible_part({ insertText = "other", range = { start = { line = 3, character = 4 }, ["end"] = { line = 3, character = 7 } } }, 3, 7, "    ret", "utf-16") == nil
  )
  next()
end)

step(function(next)
  local cmd, err = client.server_cmd()
  if not check("server command", cmd ~= nil, err) then
    return next()
  end
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  wait_until("server initialized", function()
    return client.get() and client.ready
  end, function()
    local c = client.get()
    check("attached", vim.lsp.buf_is_attached(0, c.id))
    if setup_style == "lsp-config" then
      local all = vim.lsp.get_clients({ name = "codeflow" })
      check(
        "vim.lsp.config + vim.lsp.enable: one codeflow client, the user's cmd",
        vim.lsp.is_enabled("codeflow") and #all == 1 and c.config.cmd[1] == server and vim.bo.filetype == "python"
          and c.config.init_options.tests.trusted == true,
        { clients = #all, cmd = c.config.cmd, filetype = vim.bo.filetype }
      )
    end
    check("inlineCompletionProvider", c.server_capabilities.inlineCompletionProvider ~= nil, c.server_capabilities)
    results.capabilities = vim.tbl_keys(c.server_capabilities)
    local cmds = (c.server_capabilities.executeCommandProvider or {}).commands or {}
    results.commands = cmds
    check("offset encoding", c.offset_encoding == "utf-16" or c.offset_encoding == "utf-8", c.offset_encoding)
    next()
  end, 60000)
end)

step(function(next)
  wait_until("codeflow/status", function()
    return client.status ~= nil
  end, function()
    results.status = client.status
    check("status has model/device", type(client.status.device) == "string" and client.status.state ~= nil, client.status)
    next()
  end, 30000)
end)

if want_native then
  step(function(next)
    -- setup{native_inline=true}: Neovim's inline completion where it exists, else the extmarks.
    local has = vim.lsp.inline_completion ~= nil
    check("native_inline: native where Neovim has it, else the plugin's ghost text",
      results.completion_path == (has and "native" or "plugin"), { path = results.completion_path, has = has })
    next()
  end)
end

-- Native path: like until_suggestion, with Neovim's own inline completion drawing the text.
local function until_native(first, more_text, k)
  local more = keys_of(more_text)
  local tries = 0
  native.last = nil
  feed(first)
  local function again()
    wait_until("a native inline completion", function()
      return (native.shown ~= nil and native.shown_text(0) ~= nil) or (native.last ~= nil and not native.last.text)
    end, function()
      if native.shown ~= nil and native.shown_text(0) ~= nil then
        return k()
      end
      tries = tries + 1
      results.empty_answers = (results.empty_answers or 0) + 1
      if tries > #more then
        check("a native suggestion within " .. #more .. " keystrokes", false, state())
        return finish()
      end
      native.last = nil
      feed(more[tries])
      again()
    end)
  end
  again()
end

local function sent_of(method, from)
  local out = {}
  for i = (from or 0) + 1, #sent do
    if sent[i].method == method then
      table.insert(out, sent[i].params)
    end
  end
  return out
end

if parts.ghost and results.completion_path == "native" then
  step(function(next)
    vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
    feed("o")
    until_native("    return a", " * b\n\n\ndef sub(a, b):\nreturn a - b\n\n\ndef div(a, b):\n", function()
      local shown = native.shown_text(0)
      results.suggestion = native.last.text
      results.shown = shown
      results.latency_ms = native.last.latency_ms
      check("native: shown text == the server's insertText", shown == native.last.text and shown == ghost.sanitize(native.last.raw), { shown = shown, server = native.last.raw })
      local show = sent_of("codeflow/didShowCompletion")
      check("native: didShowCompletion sent", #show >= 1 and show[#show].text == shown, show)
      local typed_line = vim.api.nvim_get_current_line()
      local before = #sent
      feed("<Tab>")
      wait_until("native accept", function()
        return native.shown == nil and native.shown_text(0) == nil and vim.api.nvim_get_current_line() ~= typed_line
      end, function()
        local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
        results.after_accept = text
        check("native: <Tab> inserted the suggestion", text:find(typed_line .. shown, 1, true) ~= nil, { text = text, line = typed_line })
        local acc = sent_of("codeflow/didAcceptCompletion", before)
        check("native: didAcceptCompletion sent", #acc == 1 and acc[1].text == shown and acc[1].acceptedLength == require("codeflow.util").utf16_len(shown), acc)
        next()
      end, 5000)
    end)
  end)

  step(function(next)
    -- Typing dismisses the suggestion at once and every typed key lands, in order.
    feed("<CR>")
    until_native("# ", "total\nx = 1\ny = x + 2\nz = ", function()
      local old = native.shown_text(0)
      local line = vim.api.nvim_get_current_line()
      feed("Q")
      wait_until("the typed Q", function()
        return vim.api.nvim_get_current_line() == line .. "Q" and native.shown == nil
      end, function()
        local now = native.shown_text(0)
        check("native: typing dismissed the suggestion", now ~= old, { old = old, now = now })
        feed("<Esc>")
        wait_until("native: dismissed on InsertLeave", function()
          return vim.fn.mode() == "n" and native.shown_text(0) == nil
        end, function()
          check("native: typed keys kept in order", vim.api.nvim_get_current_line() == line .. "Q", vim.api.nvim_get_current_line())
          next()
        end, 5000)
      end, 5000)
    end)
  end)

  step(function(next)
    -- <Tab> with nothing shown inserts a tab as usual.
    vim.lsp.inline_completion.enable(false)
    vim.bo.expandtab = false
    feed("o<Tab>x<Esc>")
    wait_until("plain tab", function()
      return vim.fn.mode() == "n" and vim.api.nvim_get_current_line():match("\tx$") ~= nil
    end, function()
      check("native: <Tab> falls through", true)
      vim.lsp.inline_completion.enable(true)
      next()
    end, 5000)
  end)
end

if parts.ghost and results.completion_path == "plugin" then
  step(function(next)
    -- Type the body of mul() like a user: insert mode at the end of the file.
    vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
    feed("o")
    until_suggestion("    return a", " * b\n\n\ndef sub(a, b):\nreturn a - b\n\n\ndef div(a, b):\n", function()
      local shown = ghost.shown_text(0)
      results.suggestion = ghost.last.text
      results.shown = shown
      results.latency_ms = ghost.last.latency_ms
      check("mode is insert", vim.fn.mode() == "i", vim.fn.mode())
      -- The server's text (control characters dropped, CRs made newlines) is what the extmarks show.
      check("extmark text == the server's insertText", shown == ghost.sanitize(ghost.last.raw) and shown == ghost.last.shown, { shown = shown, server = ghost.last.raw })
      local show = vim.tbl_filter(function(s)
        return s.method == "codeflow/didShowCompletion"
      end, sent)
      check("didShowCompletion sent", #show >= 1 and show[#show].params.text == shown, show)
      results.before_accept = vim.api.nvim_buf_get_lines(0, 0, -1, false)
      results.typed_line = vim.api.nvim_get_current_line()
      feed("<Tab>")
      wait_until("accepted", function()
        return ghost.current == nil
      end, function()
        local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
        results.after_accept = text
        check("accept inserted the suggestion", text:find(results.typed_line .. shown, 1, true) ~= nil, { text = text, line = results.typed_line })
        check("extmarks cleared", ghost.shown_text(0) == nil)
        local acc = vim.tbl_filter(function(s)
          return s.method == "codeflow/didAcceptCompletion"
        end, sent)
        check("didAcceptCompletion sent", #acc >= 1 and acc[1].params.acceptedLength == require("codeflow.util").utf16_len(shown) and acc[1].params.text == shown, acc)
        next()
      end, 5000)
    end)
  end)

  step(function(next)
    -- Partial accept and dismissal: a new suggestion, accept a word, then <Esc>.
    ghost.dismiss()
    feed("<CR>")
    until_suggestion("# ", "total\nx = 1\ny = x + 2\nz = ", function()
      local before = #sent
      local full = ghost.current.full
      local wl = ghost.next_word_len(full)
      local partial = wl < #full
      feed("<M-Right>")
      wait_until("accept word", function()
        return ghost.current == nil or ghost.current.accepted > 0
      end, function()
        feed("<Esc>")
        wait_until("dismissed on InsertLeave", function()
          return vim.fn.mode() == "n" and ghost.shown_text(0) == nil and ghost.current == nil
        end, function()
          local acc = {}
          for i = before + 1, #sent do
            if sent[i].method == "codeflow/didAcceptCompletion" then
              table.insert(acc, sent[i].params)
            end
          end
          check("one didAccept for the word", #acc == 1 and acc[1].text == full and acc[1].acceptedLength == require("codeflow.util").utf16_len(full:sub(1, wl)), { acc = acc, partial = partial, full = full })
          next()
        end, 5000)
      end, 5000)
    end)
  end)

  step(function(next)
    -- <Tab> with nothing shown inserts a tab as usual.
    ghost.enabled = false
    vim.bo.expandtab = false
    feed("o<Tab>x<Esc>")
    wait_until("plain tab", function()
      return vim.fn.mode() == "n" and vim.api.nvim_get_current_line():match("\tx$") ~= nil
    end, function()
      check("<Tab> falls through", true)
      ghost.enabled = true
      next()
    end, 5000)
  end)
end

if parts.chat then
  step(function(next)
    local done = nil
    -- Record the codeflow/chat params the plugin sends.
    local util = require("codeflow.util")
    local orig_request = util.request
    local sent_params = nil
    util.request = function(c, method, params, handler, bufnr)
      if method == "codeflow/chat" and not sent_params then
        sent_params = params
      end
      return orig_request(c, method, params, handler, bufnr)
    end
    -- As :'<,'>CodeflowChat on lines 4-5 of calc.py (def add ... return a + b).
    vim.cmd("stopinsert")
    local src_buf = vim.fn.bufnr(file)
    vim.api.nvim_set_current_buf(src_buf)
    chat.command({ args = "What does add in @calc.py do? Answer in one sentence.", range = 2, line1 = 4, line2 = 5 })
    util.request = orig_request
    chat.last = nil
    local ok = sent_params ~= nil
    check("chat request sent", ok)
    check(
      "chat params: selection, @reference, history",
      ok
        and sent_params.selection.uri == vim.uri_from_bufnr(src_buf)
        and sent_params.selection.range.start.line == 3
        and sent_params.references[1] == vim.uri_from_fname(file)
        and sent_params.messages[#sent_params.messages].role == "user"
        and type(sent_params.partialResultToken) == "string",
      sent_params
    )
    local function on_done_poll()
      return chat.last
    end
    local buf = chat.buf
    local seen_partial = false
    wait_until("chat answer", function()
      done = on_done_poll()
      if chat.running and chat.running.deltas > 0 and not done then
        seen_partial = true
      end
      return done ~= nil
    end, function()
      local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
      results.chat = { answer = done.text, finishReason = done.finishReason, deltas = done.deltas }
      check("chat finished", done.finishReason == "stop" or done.finishReason == "length", done)
      check("chat streamed deltas", done.deltas >= 1 and done.streamed == done.text, done)
      check("chat buffer saw a partial answer", seen_partial or done.deltas == 1, done.deltas)
      check("chat buffer holds the answer", done.text ~= "" and text:find(done.text, 1, true) ~= nil, text)
      next()
    end)
  end)

  step(function(next)
    -- Cancel right after the first token. A small model may finish before the cancel lands;
    -- then the next question is tried (3 at most).
    local questions = {
      "Write a long, detailed tutorial on mean and variance with many examples.",
      "Explain every line of calc.py in detail, with examples and edge cases.",
      "Rewrite calc.py with type hints, docstrings and tests, and explain each change at length.",
    }
    local attempt = 0
    local function try()
      attempt = attempt + 1
      if attempt > #questions then
        check("chat cancelled", false, "every answer finished before the cancel")
        return finish()
      end
      local done = nil
      chat.ask(questions[attempt], {
        on_done = function(r)
          done = r
        end,
      })
      wait_until("first delta of the answer", function()
        return (chat.running and chat.running.deltas > 0) or done
      end, function()
        if done then
          results.finished_before_cancel = (results.finished_before_cancel or 0) + 1
          return try()
        end
        chat.cancel()
        wait_until("cancelled", function()
          return done ~= nil
        end, function()
          if done.finishReason ~= "cancelled" then
            results.finished_before_cancel = (results.finished_before_cancel or 0) + 1
            return try()
          end
          results.chat_cancel = { finishReason = done.finishReason, chars = #done.text, acked = done.acked }
          check("chat cancelled", done.acked == true, done)
          local text = table.concat(vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false), "\n")
          check("chat buffer says cancelled", text:find("> cancelled", 1, true) ~= nil)
          next()
        end, 30000)
      end)
    end
    try()
  end)
end

if parts.tests then
  step(function(next)
    -- :CodeflowRunTests → failures as diagnostics; :CodeflowFix finds and resolves the action.
    local tf = ws .. "/test_calc.py"
    local fh = assert(io.open(tf, "w"))
    fh:write("from ops import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n")
    fh:close()
    fh = assert(io.open(ws .. "/ops.py", "w"))
    fh:write("def add(a, b):\n    return a - b\n")
    fh:close()
    vim.cmd("stopinsert")
    vim.cmd("edit " .. vim.fn.fnameescape(tf))
    local buf = vim.api.nvim_get_current_buf()
    local ran = nil
    wait_until("attached to the test file", function()
      return vim.lsp.buf_is_attached(buf, client.client_id)
    end, function()
      codeflow.run_tests(function(result, err)
        ran = { result = result, err = err }
      end)
      wait_until("a test-failure diagnostic", function()
        for _, d in ipairs(vim.diagnostic.get(buf)) do
          if d.source == "codeflow-tests" then
            return true
          end
        end
        return false
      end, function()
        local diags = vim.diagnostic.get(buf)
        results.tests = { ran = ran, diagnostics = vim.tbl_map(function(d)
          return { lnum = d.lnum, message = d.message, source = d.source }
        end, diags) }
        local d = vim.tbl_filter(function(x)
          return x.source == "codeflow-tests"
        end, diags)[1]
        check("failing test is a diagnostic", d ~= nil and d.lnum == 4, results.tests)
        vim.api.nvim_win_set_cursor(0, { d.lnum + 1, 4 })
        local fixed = nil
        local tick = vim.api.nvim_buf_get_changedtick(buf)
        codeflow.fix(function(r)
          fixed = r
        end)
        wait_until(":CodeflowFix", function()
          return fixed ~= nil
        end, function()
          results.fix = vim.tbl_extend("force", fixed, { changed = vim.api.nvim_buf_get_changedtick(buf) ~= tick })
          check("'Fix with codeflow' offered and resolved", fixed.found and fixed.resolved and fixed.title:find("^Fix .*with codeflow") ~= nil, fixed)
          check("fix edit applied when the server made one", (not fixed.applied) or results.fix.changed, results.fix)
          next()
        end, 2 * timeout_ms) -- the server verifies up to 3 candidate fixes, each a pytest run
      end, 120000)
    end, 10000)
  end)
end

step(function(next)
  -- :checkhealth codeflow runs and reports the running server.
  vim.cmd("checkhealth codeflow")
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  results.health = text
  check("checkhealth", text:find("server running", 1, true) ~= nil and text:find("inline completion: server offers", 1, true) ~= nil, text)
  local v = vim.version()
  check(
    "checkhealth: Neovim version and completion path",
    text:find("Neovim " .. v.major .. "." .. v.minor .. "." .. v.patch, 1, true) ~= nil
      and text:find("completion path: " .. results.completion_path, 1, true) ~= nil,
    text
  )
  next()
end)

-- Watchdog.
vim.defer_fn(function()
  check("watchdog", false, "the test took too long")
  finish()
end, timeout_ms * 3)

vim.defer_fn(run_next, 10)
