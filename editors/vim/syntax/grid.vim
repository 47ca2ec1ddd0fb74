" Vim syntax file for gridc .grid scenario files.
" Install: copy syntax/ and ftdetect/ into ~/.vim/ (or use a plugin manager on editors/vim).
if exists("b:current_syntax")
  finish
endif

syn keyword gridItem gridc import as profile tariff template network agents reward experiment
syn keyword gridKeyword csv list unit schedule export demand_charge carbon per load solar battery bus feeder from to on peak_charge each controls in observe communicate train test days sweep number
syn keyword gridFunction uniform normal choice bill cost count peak next broadcast neighbours neighbors
syn keyword gridConstant true false step linear lp none self mappo ippo maddpg no_battery greedy tou_rule
syn match gridComment "//.*$" contains=@Spell
syn region gridBlockComment start="/\*" end="\*/" contains=@Spell
syn region gridString start=+"+ skip=+\\.+ end=+"\|$+ contains=gridEscape
syn match gridEscape "\\." contained
syn match gridDate "\<\d\{4}-\d\{2}-\d\{2}\>"
syn match gridClock "\<\d\{1,2}:\d\{2}\>"
syn match gridNumber "\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=[kM]\=\>" nextgroup=gridUnit skipwhite
syn match gridNumber "\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=" nextgroup=gridUnit skipwhite
" Units: kWh MWh GWh Wh kWp MWp Wp kW MW GW W $ ct kg g min h steps step s d %
syn match gridUnit "\(kWh\|MWh\|GWh\|Wh\|kWp\|MWp\|Wp\|kW\|MW\|GW\|W\|\$\|ct\|kg\|g\|min\|h\|steps\|step\|s\|d\|%\)\(\s*[/*]\s*\(kWh\|MWh\|GWh\|Wh\|kWp\|MWp\|Wp\|kW\|MW\|GW\|W\|\$\|ct\|kg\|g\|min\|h\|steps\|step\|s\|d\)\)*\>\=" contained
syn match gridOperator "\.\.\|=>\|[-+*/=^]"
syn match gridDefinition "\<\(profile\|tariff\|template\|network\|experiment\|bus\|feeder\|battery\|load\|solar\)\s\+\zs[A-Za-z_][A-Za-z0-9_.]*"
syn match gridError "[@#!?&|~`\\]"

hi def link gridItem Statement
hi def link gridKeyword Keyword
hi def link gridFunction Function
hi def link gridConstant Constant
hi def link gridComment Comment
hi def link gridBlockComment Comment
hi def link gridString String
hi def link gridEscape SpecialChar
hi def link gridDate Constant
hi def link gridClock Constant
hi def link gridNumber Number
hi def link gridUnit Type
hi def link gridOperator Operator
hi def link gridDefinition Identifier
hi def link gridError Error

let b:current_syntax = "grid"
