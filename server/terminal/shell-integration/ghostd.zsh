# ghostd shell integration for zsh: OSC 133 marks (prompt, command, exit code) and OSC 7
# (working directory), which ghostd turns into `at_prompt`, `last_exit_code`, `working_directory`
# and `wait {"until": "prompt"}`. Source it from ~/.zshrc:
#   source /path/to/ghostd/server/terminal/shell-integration/ghostd.zsh
[[ -o interactive ]] || return 0
(( ${+__ghostd_integrated} )) && return 0
typeset -g __ghostd_integrated=1

__ghostd_precmd() {
  local ret=$?
  # The first prompt follows no command of ours, so it reports no exit code.
  (( ${+__ghostd_ran} )) && print -rn -- $'\e]133;D;'"$ret"$'\a'
  typeset -g __ghostd_ran=1
  print -rn -- $'\e]7;file://'"${HOST}${PWD// /%20}"$'\a'$'\e]133;A\a'
}

__ghostd_preexec() {
  print -rn -- $'\e]133;C\a'
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd __ghostd_precmd
add-zsh-hook preexec __ghostd_preexec
PS1="${PS1}%{"$'\e]133;B\a'"%}"
