# Shared by scripts/infra.sh, up.sh and down.sh: finding our own processes and stopping them, bounded.
# Callers define log().
# shellcheck shell=bash

# Milliseconds since the epoch (bash 5 has EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# True while process $1 exists and has not exited. An exited process lingers as a zombie until its
# parent reaps it; daemons are reparented to pid 1, which in some containers reaps only after a
# second or so, and kill -0 still succeeds on a zombie.
proc_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) } # the state follows "(comm) ", and comm may contain spaces
  [[ ${stat%% *} != Z ]]
}

# True when the pid file names a live process whose command line contains $2 and, if given, whose
# working directory is $3. Guards against pid reuse: we must never signal someone else's process.
pid_alive() {
  local pidfile=$1 pattern=$2 cwd=${3:-} pid
  [[ -f $pidfile ]] || return 1
  pid="$(head -n1 "$pidfile" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  [[ -z $cwd || "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$cwd" ]]
}

# Sends SIGTERM to the process in $1 (already validated by the caller), waits up to $2 seconds for it
# to exit, then SIGKILLs it. Shutdown must be bounded: a test teardown cannot hang on a stuck broker.
terminate() {
  local pid=$1 timeout=$2 name=$3 deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$(($(now_ms) + timeout * 1000))
  while proc_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      log "$name: did not exit within ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while proc_alive "$pid"; do sleep 0.05; done
      return 0
    fi
    sleep 0.05
  done
}
