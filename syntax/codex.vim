" Chat buffers (codex://thread/…): markdown, with diff highlighting in ```diff fences.
if exists("b:current_syntax")
  finish
endif
runtime! syntax/markdown.vim
unlet! b:current_syntax
syntax include @codexDiff syntax/diff.vim
unlet! b:current_syntax
syntax region codexDiffFence matchgroup=markdownCodeDelimiter start="^```diff$" end="^```$" keepend contains=@codexDiff
let b:current_syntax = "codex"
