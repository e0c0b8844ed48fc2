# Sourced by bench scripts: PIN=1 puts the servers on CPU 0 and the load on CPU 1.
#
# pin_cpus NAME: sets the arrays server_cpu and load_cpu, each a command prefix: empty
#   without PIN=1, `taskset -c 0` and `taskset -c 1` with it. NAME is the script's, for
#   its error messages; exits if PIN=1 cannot be honoured.
pin_cpus() {
  server_cpu=() load_cpu=()
  [ "${PIN:-0}" = 1 ] || return 0
  command -v taskset >/dev/null || { echo "$1: PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  [ "$(nproc)" -ge 2 ] || { echo "$1: PIN=1 needs 2 CPUs" >&2; exit 1; }
  server_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
}
