-- Headless Neovim test of the chat buffer's Thinking fold against the real server with a scripted
-- reasoning model (tests/e2e/test_nvim_thinking.py sets CODEFLOW_TEST_BACKEND to its script).
--   nvim --headless -u NONE -i NONE --cmd "set rtp+=editors/nvim" -c "luafile editors/nvim/tests/thinking.lua"
-- Env: CODEFLOW_SERVER, CODEFLOW_WORKSPACE, CODEFLOW_NVIM_RESULT (JSON result file).
local result_path = assert(os.getenv("CODEFLOW_NVIM_RESULT"))
local server = os.getenv("CODEFLOW_SERVER") or "codeflow"
local ws = os.getenv("CODEFLOW_WORKSPACE") or vim.fn.tempname()
local results = { checks = {} }
local failed = false

local function check(name, cond, detail)
  table.insert(results.checks, { name = name, ok = cond and true or false, detail = detail })
  if not cond then
    failed = true
  end
end

local function finish()
  results.ok = not failed
  local f = assert(io.open(result_path, "w"))
  f:write(vim.fn.json_encode(results))
  f:close()
  local c = require("codeflow.client").get()
  if c then
    require("codeflow.util").stop_client(c)
  end
  vim.defer_fn(function()
    vim.cmd(failed and "cquit 1" or "qall!")
  end, 200)
end

local function wait_until(what, cond, k)
  local t0 = vim.loop.now()
  local function poll()
    local ok, v = pcall(cond)
    if ok and v then
      local ok2, err = pcall(k)
      if not ok2 then
        check("raised after " .. what, false, err)
        finish()
      end
      return
    end
    if vim.loop.now() - t0 > 120000 then
      check("wait: " .. what, false, (not ok) and v or "timed out")
      return finish()
    end
    vim.defer_fn(poll, 20)
  end
  poll()
end

vim.fn.mkdir(ws, "p")
local file = ws .. "/calc.py"
local f = assert(io.open(file, "w"))
f:write("def total(values):\n    return sum(values)\n")
f:close()

require("codeflow").setup({ cmd = { server, "serve" } })
local client = require("codeflow.client")
local chat = require("codeflow.chat")
local thinking = require("codeflow.thinking")
vim.cmd("edit " .. file)

local function lines()
  return vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false)
end
local function find(pattern)
  for i, l in ipairs(lines()) do
    if l:find(pattern, 1, true) then
      return i
    end
  end
end
local function chat_win()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(w) == chat.buf then
      return w
    end
  end
end
local function closed(lnum)
  return vim.api.nvim_win_call(chat_win(), function()
    return { vim.fn.foldclosed(lnum), vim.fn.foldclosedend(lnum) }
  end)
end

check("elapsed_label", thinking.elapsed_label(800) == "0.8 s" and thinking.elapsed_label(12400) == "12 s"
  and thinking.elapsed_label(125000) == "2 min 5 s")

wait_until("client ready", function()
  return client.ready
end, function()
  chat.last = nil
  check("first question sent", chat.ask("Why does total fail?", {}))
  wait_until("first answer", function()
    return chat.last ~= nil
  end, function()
    local last = chat.last
    results.first = { text = last.text, reasoning = last.reasoning, lines = lines() }
    check("answer is the answer only", last.text == "Use `sum`.", last.text)
    check("reasoning kept apart", last.reasoning == "Step one.\nStep two: ```py\nbad()\n```\n", last.reasoning)
    local head = find("### Thought for ")
    local answer = find("Use `sum`.")
    local step = find("Step two")
    check("header says how long it thought", head ~= nil and lines()[head]:match("^### Thought for [%d.]+ s$") ~= nil, lines())
    check("reasoning is in the buffer, before the answer", step ~= nil and answer ~= nil and head < step and step < answer, lines())
    local fold = closed(head)
    results.fold = fold
    check("reasoning folded (closed)", fold[1] == head and fold[2] == find("bad()") + 1 and fold[2] < answer, { fold, lines() })
    check("answer not folded", closed(answer)[1] == -1, closed(answer))
    check("an answer the model ended is not labelled as stopped", find("> stopped") == nil, lines())
    check("history has the answer only", chat.messages[#chat.messages].content == "Use `sum`.", chat.messages)
    chat.last = nil
    check("second question sent", chat.ask("And then?", {}))
    wait_until("second answer", function()
      return chat.last ~= nil
    end, function()
      local second = chat.last
      check("instruct-style answer has no reasoning", second.text == "Plain answer." and second.reasoning == nil, second)
      check("second answer not folded", closed(find("Plain answer."))[1] == -1, lines())
      check("first reasoning still folded", closed(find("Step one."))[1] == find("### Thought for "), lines())
      check("one fold block", #thinking.blocks[chat.buf] == 1, thinking.blocks[chat.buf])
      results.lines = lines()
      finish()
    end)
  end)
end)
