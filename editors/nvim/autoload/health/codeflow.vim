" :checkhealth codeflow for Neovim versions that look up autoload health functions.
function! health#codeflow#check() abort
  lua require("codeflow.health").check()
endfunction
