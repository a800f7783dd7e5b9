-- :CodeflowChat — a scratch buffer that streams codeflow/chat answers ($/progress partial results).
local client = require("codeflow.client")
local config = require("codeflow.config")
local thinking = require("codeflow.thinking")
local util = require("codeflow.util")

local M = {
  buf = nil,
  messages = {}, -- { role, content } of this session
  running = nil, -- { client, id, token, text, on_done }
  partial = {}, -- partialResultToken -> function(value)
  last = nil, -- { text, finishReason, deltas, cancelled } of the last request (tests)
}

local token_seq = 0

---Wraps the global $/progress handler: our chat tokens here, every other token as before.
function M.install_progress_handler()
  if M._installed then
    return
  end
  M._installed = true
  local orig = vim.lsp.handlers["$/progress"]
  vim.lsp.handlers["$/progress"] = function(err, result, ctx, cfg)
    local h = result and M.partial[result.token]
    if h then
      return h(result.value)
    end
    if orig then
      return orig(err, result, ctx, cfg)
    end
  end
end

local function chat_buf()
  if M.buf and vim.api.nvim_buf_is_valid(M.buf) then
    return M.buf
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, "codeflow://chat")
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  vim.keymap.set("n", "<C-c>", M.cancel, { buffer = buf, desc = "codeflow: cancel the answer" })
  vim.keymap.set("n", "q", "<Cmd>close<CR>", { buffer = buf, desc = "close" })
  M.buf = buf
  return buf
end

local function show(buf)
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(w) == buf then
      return w
    end
  end
  local o = config.options.chat
  vim.cmd(o.split == "split" and "botright split" or ("botright vertical " .. (o.width or 70) .. "split"))
  local w = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(w, buf)
  vim.wo[w].wrap = true
  vim.wo[w].linebreak = true
  thinking.setup_window(w)
  return w
end

local function append(buf, text)
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
  local lines = util.split_lines(text)
  vim.api.nvim_buf_set_text(buf, last - 1, #tail, last - 1, #tail, lines)
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(w) == buf then
      vim.api.nvim_win_set_cursor(w, { vim.api.nvim_buf_line_count(buf), 0 })
    end
  end
end

---`@path` words in the question → file URIs under the root (existing files only).
function M.references(question, root)
  local uris = {}
  for name in question:gmatch("@([%w_][%w_./%-]*[%w_])") do
    local p = name:sub(1, 1) == "/" and name or (root .. "/" .. name)
    if vim.loop.fs_stat(p) then
      table.insert(uris, vim.uri_from_fname(p))
    end
  end
  return uris
end

---Asks `question`; `opts.selection = {uri, range}`; `opts.on_done(result)` for callers and tests.
function M.ask(question, opts)
  opts = opts or {}
  local c = client.get()
  if not c or not client.ready then
    util.notify("the server is not running (open a file first)", vim.log.levels.WARN)
    return false
  end
  if M.running then
    util.notify("an answer is still streaming; cancel it with <C-c> in the chat buffer", vim.log.levels.WARN)
    return false
  end
  M.install_progress_handler()
  local buf = chat_buf()
  show(buf)
  local header = (vim.api.nvim_buf_line_count(buf) == 1 and vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] == "") and ""
    or "\n\n"
  append(buf, header .. "## You\n\n" .. question .. "\n\n## codeflow\n\n")

  table.insert(M.messages, { role = "user", content = question })
  token_seq = token_seq + 1
  local token = string.format("codeflow-nvim-chat-%d-%d", vim.loop.getpid(), token_seq)
  local run = { client = c, token = token, text = "", deltas = 0 }
  M.running = run
  M.partial[token] = function(value)
    if M.running ~= run or type(value) ~= "table" then
      return
    end
    if type(value.reasoningDelta) == "string" and value.reasoningDelta ~= "" then
      thinking.reasoning(run, buf, value.reasoningDelta, append)
    end
    if type(value.delta) ~= "string" then
      return
    end
    thinking.done(run, buf, append)
    run.text = run.text .. value.delta
    run.deltas = run.deltas + 1
    append(buf, value.delta)
  end
  local params = { messages = vim.deepcopy(M.messages), partialResultToken = token }
  local refs = M.references(question, c.config.root_dir or vim.fn.getcwd())
  if #refs > 0 then
    params.references = refs
  end
  if opts.selection then
    params.selection = opts.selection
  end
  local function finish(text, reason, err)
    M.partial[token] = nil
    M.running = nil
    thinking.done(run, buf, append)
    if err then
      append(buf, "\n\n> error: " .. tostring(err.message or err))
    elseif reason == "cancelled" then
      append(buf, "\n\n> cancelled")
    elseif reason and reason ~= "stop" and reason ~= "eos" then -- eos: the model ended its turn
      append(buf, "\n\n> stopped: " .. reason)
    end
    table.insert(M.messages, { role = "assistant", content = text })
    M.last = { text = text, finishReason = reason, deltas = run.deltas, error = err, streamed = run.text, acked = run.acked,
      reasoning = run.reasoning, reasoning_ms = run.reasoning_ms, fold = run.thinking }
    if opts.on_done then
      opts.on_done(M.last)
    end
  end
  run.finish = finish
  local ok, id = util.request(c, "codeflow/chat", params, function(err, result)
    if M.running ~= run then
      return
    end
    if err then
      if err.code == -32800 or run.cancelled then
        return finish(run.text, "cancelled")
      end
      return finish(run.text, "error", err)
    end
    -- Text not streamed (a server without partial results) is appended now.
    local text = result and result.text or run.text
    if #text > #run.text and text:sub(1, #run.text) == run.text then
      append(buf, text:sub(#run.text + 1))
    end
    finish(text, result and result.finishReason or "stop")
  end)
  if not ok then
    M.partial[token] = nil
    M.running = nil
    util.notify("could not send codeflow/chat", vim.log.levels.ERROR)
    return false
  end
  run.id = id
  return true
end

---Cancels the streaming answer ($/cancelRequest). Neovim does not pass the server's
---RequestCancelled reply to the request's handler, so the reply is seen by the request leaving
---`client.requests`; a result that wins the race still goes through the handler.
function M.cancel()
  local run = M.running
  if not (run and run.id) or run.cancelled then
    return
  end
  run.cancelled = true
  local c = run.client
  util.cancel_request(c, run.id)
  local t0 = vim.loop.now()
  local function poll()
    if M.running ~= run then
      return -- the handler finished it
    end
    local replied = c.requests and c.requests[run.id] == nil
    if replied or vim.loop.now() - t0 > 5000 then
      run.acked = replied
      return run.finish(run.text, "cancelled")
    end
    vim.defer_fn(poll, 20)
  end
  vim.defer_fn(poll, 20)
end

---:CodeflowChat [question] (with a range: the selected lines go along).
function M.command(args)
  local selection = nil
  if args.range and args.range > 0 then
    local buf = vim.api.nvim_get_current_buf()
    selection = {
      uri = vim.uri_from_bufnr(buf),
      range = { start = { line = args.line1 - 1, character = 0 }, ["end"] = { line = args.line2, character = 0 } },
    }
  end
  local q = args.args
  if not q or q == "" then
    q = vim.fn.input("codeflow> ")
  end
  if q and q ~= "" then
    M.ask(q, { selection = selection })
  end
end

function M.reset()
  M.messages = {}
  if M.buf and vim.api.nvim_buf_is_valid(M.buf) then
    thinking.reset(M.buf)
    vim.api.nvim_buf_set_lines(M.buf, 0, -1, false, {})
  end
end

return M
