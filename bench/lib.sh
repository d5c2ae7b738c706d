# Helpers shared by the bench/ scripts (sourced, not run).

# wrk_summary OUTPUT: wrk's --latency report as "req/s|p50|p99|errors" (errors = non-2xx answers + socket errors).
wrk_summary() {
  local out="$1" rps p50 p99 non2xx sock
  rps="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  sock="$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out")"
  echo "$rps|$p50|$p99|$(( ${non2xx:-0} + ${sock:-0} ))"
}

# wrk_requests OUTPUT: how many requests the run completed.
wrk_requests() { awk '/requests in/ {print $1}' <<<"$1"; }
