# ghostd shell integration for bash: OSC 133 marks (prompt, command, exit code) and OSC 7
# (working directory), which ghostd turns into `at_prompt`, `last_exit_code`, `working_directory`
# and `wait {"until": "prompt"}`. Source it from ~/.bashrc:
#   source /path/to/ghostd/server/terminal/shell-integration/ghostd.bash
[[ $- == *i* ]] || return 0
[[ -n ${__ghostd_integrated:-} ]] && return 0
__ghostd_integrated=1

__ghostd_prompt_command() {
  local status=$?
  # The first prompt follows no command of ours, so it reports no exit code.
  [[ -n ${__ghostd_ran:-} ]] && printf '\e]133;D;%s\a' "$status"
  __ghostd_ran=1
  printf '\e]7;file://%s%s\a' "${HOSTNAME:-localhost}" "${PWD// /%20}"
  return "$status"
}

PROMPT_COMMAND="__ghostd_prompt_command${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
PS1="\[\e]133;A\a\]${PS1}\[\e]133;B\a\]"
# PS0 is printed after a command line is read, before it runs (bash 4.4 and later).
PS0="${PS0:-}\e]133;C\a"
