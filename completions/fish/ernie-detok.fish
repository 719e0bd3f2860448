# fish completion for ernie-detok
complete -c ernie-detok -f
complete -c ernie-detok -s m -l model -r -F -d 'Model directory or .model file'
complete -c ernie-detok -l raw -d 'Keep special tokens and newlines, add no final newline'
complete -c ernie-detok -l skip-special -d 'Drop special tokens, also with --raw'
complete -c ernie-detok -l input_format -x -a 'id piece' -d 'Read ids or lines of pieces'
complete -c ernie-detok -l reasoning -x -a 'strip keep split' -d "A Thinking model's reasoning"
complete -c ernie-detok -l reasoning-file -r -F -d 'Write the reasoning to this file'
complete -c ernie-detok -l tool-calls -d 'Write each tool call as one line of JSON'
complete -c ernie-detok -s 0 -l null -d 'End each sequence with NUL'
complete -c ernie-detok -s h -l help -d 'Print the usage'
complete -c ernie-detok -l version -d 'Print the version'
