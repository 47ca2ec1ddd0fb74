" Vim indent file for gridc scenario files (.grid): one 'shiftwidth' per open { [ (.
if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal autoindent
setlocal indentexpr=GridIndent(v:lnum)
setlocal indentkeys=0{,0},0),0],!^F,o,O
let b:undo_indent = 'setlocal autoindent< indentexpr< indentkeys<'

if exists('*GridIndent')
  finish
endif

" A line without its strings and comments.
function! s:Code(lnum) abort
  let line = substitute(getline(a:lnum), '"\%(\\.\|[^"\\]\)*"\=', '""', 'g')
  let line = substitute(line, '/\*.\{-}\*/', '', 'g')
  return substitute(line, '//.*$\|/\*.*$', '', '')
endfunction

function! GridIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  " Inside a block comment: keep the indent as written.
  if synIDattr(synID(a:lnum, indent(a:lnum) + 1, 1), 'name') ==# 'gridBlockComment'
        \ && getline(a:lnum) !~# '^\s*/\*'
    return -1
  endif
  let code = s:Code(prev)
  let lead = len(matchstr(code, '^\s*\zs[\]})]*'))
  let opens = len(substitute(code, '[^[{(]', '', 'g'))
  let closes = len(substitute(code, '[^\]})]', '', 'g')) - lead
  let ind = indent(prev) + shiftwidth() * (opens - closes)
  if getline(a:lnum) =~# '^\s*[\]})]'
    let ind -= shiftwidth()
  endif
  return max([ind, 0])
endfunction
