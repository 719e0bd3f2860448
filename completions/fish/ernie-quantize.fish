# fish completion for ernie-quantize
complete -c ernie-quantize -s t -l threads -x -d 'Threads'
complete -c ernie-quantize -s h -l help -d 'Print the usage'
complete -c ernie-quantize -l version -d 'Print the version'
complete -c ernie-quantize -n 'test (count (commandline -opc)) -eq 3' -f -a 'q8_0 q4_0 q4_k_m q5_k_m q6_k bf16 f16 f32' -d 'Type'
