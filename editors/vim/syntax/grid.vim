" Vim syntax file
" Language:    gridc scenario files (.grid)
" Maintainer:  gridc
" Install:     copy syntax/ and ftdetect/ into ~/.vim/ (Neovim: ~/.config/nvim/), or load
"              editors/vim with a plugin manager. See editors/vim/README.md.
"
" Mirrors editors/vscode/syntaxes/grid.tmLanguage.json; both are checked against
" grammar/grid.pest by tests/editor_grammars.rs and against the assertion files in
" editors/vscode/test/ by editors/vim/test/run.js.
"
" Everything is a `syn match` or `syn region`: for items starting at the same column the one
" defined LAST wins, so this file goes from the lowest priority (invalid characters) to the
" highest (comments and strings).

if exists('b:current_syntax')
  finish
endif
scriptencoding utf-8
let s:cpo_save = &cpo
set cpo&vim

syn case match
syn sync minlines=200

" A unit: `kWh`, `$/kWh`, `kW/kWp`, `%`, `kW^2` (unit_atom of grammar/grid.pest).
let s:unit_atom = '\%(kWh\|MWh\|GWh\|Wh\|kWp\|MWp\|Wp\|kW\|MW\|GW\|W\|\$\|ct\|kg\|g\|min\|h\|steps\|step\|s\|d\|%\)\%([A-Za-z0-9_]\)\@!\%(\^-\=\d\)\='
let s:unit = s:unit_atom . '\%([ \t]*[/*·][ \t]*' . s:unit_atom . '\)*'
let s:kw_item = 'gridc\|import\|as\|profile\|tariff\|template\|network\|agents\|reward\|experiment'
let s:kw_other = 'csv\|list\|unit\|schedule\|export\|demand_charge\|carbon\|per\|load\|solar\|battery\|bus\|feeder\|from\|to\|on\|peak_charge\|each\|controls\|in\|observe\|communicate\|others\|follow\|train\|test\|days\|sweep'
let s:dotted = '\h\w*\%(\.\h\w*\)*'

" Any character outside the language (outside strings and comments).
syn match gridError #[^ \tA-Za-z0-9_.,;:()[\]{}"/*+\-=·]#

syn match gridOperator "[-+*/=·]"
syn match gridOperator "=>"
syn match gridOperator "\.\."

" Named arguments and options: `seed: 7`, `column: "kw"`.
syn match gridParameter "\.\@1<!\<\h\w*\ze\s*:\%(:\)\@!"

syn match gridConstant "\.\@1<!\<\%(none\|step\|linear\|lp\|mappo\|ippo\|maddpg\|no_battery\|greedy\|tou_rule\|broadcast\|neighbours\|neighbors\)\>\.\@!"
syn match gridBoolean "\.\@1<!\<\%(true\|false\)\>\.\@!"
syn match gridFunction "\<\%(uniform\|normal\|choice\|bill\|cost\|count\|peak\|marginal\|externality\|next\|broadcast\|neighbours\|neighbors\)\ze\s*("

" Keywords (the kw_* rules of grammar/grid.pest); never after or before a `.` (`price.import`).
exe 'syn match gridItem "\.\@1<!\<\%(' . s:kw_item . '\)\>\.\@!"'
exe 'syn match gridKeyword "\.\@1<!\<\%(' . s:kw_other . '\)\>\.\@!"'
syn match gridKeyword "\.\@1<!\<per\>\ze\s\+day\>" nextgroup=gridPeriod skipwhite
syn match gridPeriod "\<day\>" contained

" Properties, settings and reward bindings when followed by a value: `capacity 10 kWh`,
" `step 1 h`, `mix = 0.5` (but `interpolation: step` is a constant).
syn match gridProperty "\.\@1<!\<\%(capacity\|power\|efficiency\|charge_efficiency\|discharge_efficiency\|soc\|start\|limit\|overload_penalty\|step\|episode\|optimum\|seeds\|budget\|algorithms\|baselines\|mix\|individual\|social\)\>\ze\%([ \t]*=\%(>\)\@!\|[ \t]\+[^ \t;,)}\]/=]\)"

" Observations: time.hour, price.import(.next(6 h)), self.store.soc, street.flow.last.
syn match gridSelf "\.\@1<!\<self\>"
syn match gridObservation "\.\@1<!\<\%(time\.\%(hour\|weekday\|day\)\|price\.\%(import\|export\)\|carbon\.intensity\|community\.\%(net\.last\|peak\.today\)\)\>\%(\.\%(next\>\)\@!\)\@!"
syn match gridObservation "\.\@1<=\%(\%(net\|flow\)\.last\|soc\)\>\.\@!"

" Numbers (`0.15`, `1e-3`, `200k`), then a magnitude and a unit on the same line.
syn match gridNumber "\<\d\+\%(\.\d\+\)\=\%([eE][+-]\=\d\+\)\=" nextgroup=gridMagnitude,gridUnit skipwhite
syn match gridMagnitude "\d\@1<=[kM]\%([A-Za-z0-9_]\)\@!" contained nextgroup=gridUnit skipwhite
exe 'syn match gridUnit "' . s:unit . '" contained'
" Units as types: `unit: kW/kWp`.
exe 'syn match gridUnit "\%(\<unit\s*:\s*\)\@<=' . s:unit . '"'
syn match gridDate "\<\d\{4}-\d\{2}-\d\{2}\%([A-Za-z0-9_]\)\@!"
syn match gridClock "\<\d\{1,2}:\d\{2}\%([A-Za-z0-9_]\)\@!"

" Template parameters: `template household(annual: kWh = 4500 kWh, n: number = 2)`.
syn region gridTemplateParams matchgroup=gridDelimiter start="\%(\<template\s\+\h[A-Za-z0-9_.]*\s*\)\@<=(" end=")" contains=TOP
syn region gridParens matchgroup=gridDelimiter start="(" end=")" contained containedin=gridTemplateParams,gridParens contains=TOP
syn match gridParamName "\<\h\w*\ze\s*:" contained containedin=gridTemplateParams nextgroup=gridParamColon skipwhite
syn match gridParamColon ":" contained nextgroup=gridUnit,gridType skipwhite
syn match gridType "\<number\>" contained

" Names in definition position.
syn match gridDefinition "\%(\<\%(profile\|template\|network\|experiment\)\s\+\)\@<=\h\w*\%(\.\h\w*\)*"
syn match gridDefinition "\%(^tariff\s\+\)\@<=\h\w*\%(\.\h\w*\)*"
syn match gridDefinition "\%(\<tariff\s\+\)\@<=\h\w*\%(\.\h\w*\)*\ze\s*{"
syn match gridDefinition "\%(\<\%(bus\|feeder\|load\|solar\|battery\|as\)\s\+\)\@<=\h\w*"
" Instances: `household h[16] on street` (the template, then the new name).
exe 'syn match gridDefinition "\%(\%(^\|[{;]\)\s*\)\@<=\%(\%(' . s:kw_item . '\|' . s:kw_other . '\)\>\)\@!' . s:dotted . '\ze\s\+\h\w*\s*\%(\[\s*\d\+\s*\]\)\=\s\+on\>"'
exe 'syn match gridDefinition "\%(\%(^\|[{;]\)\s*' . s:dotted . '\s\+\)\@<=\h\w*\ze\s*\%(\[\s*\d\+\s*\]\)\=\s\+on\>"'

syn region gridString start=+"+ skip=+\\.+ end=+"\|$+ contains=gridEscape
syn match gridEscape "\\." contained
syn keyword gridTodo TODO FIXME XXX NOTE contained
syn region gridBlockComment start="/\*" end="\*/" contains=gridTodo,@Spell
syn match gridComment "//.*$" contains=gridTodo,@Spell

hi def link gridError Error
hi def link gridOperator Operator
hi def link gridParameter Identifier
hi def link gridConstant Constant
hi def link gridBoolean Boolean
hi def link gridPeriod Constant
hi def link gridFunction Function
hi def link gridItem Statement
hi def link gridKeyword Keyword
hi def link gridProperty Identifier
hi def link gridSelf Special
hi def link gridObservation Identifier
hi def link gridNumber Number
hi def link gridMagnitude Number
hi def link gridUnit Type
hi def link gridType Type
hi def link gridDate Constant
hi def link gridClock Constant
hi def link gridParamName Identifier
hi def link gridDefinition Function
hi def link gridString String
hi def link gridEscape SpecialChar
hi def link gridTodo Todo
hi def link gridBlockComment Comment
hi def link gridComment Comment

let b:current_syntax = 'grid'
let &cpo = s:cpo_save
unlet s:cpo_save
