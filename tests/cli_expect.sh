# Sourced by the CLI test scripts. expect NAME WANT_CODE WANT_TEXT -- COMMAND...: runs COMMAND,
# checks its exit code and that its combined output contains WANT_TEXT; counts failures.
failures=0

expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local out code
  out=$("$@" 2>&1)
  code=$?
  if [ "$code" != "$want_code" ] || ! grep -qF -- "$want_text" <<<"$out"; then
    echo "FAIL $name: exit $code (want $want_code), output:"
    echo "$out" | head -20
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

# Ends the script: exit 1 when any expectation failed.
finish() {
  if [ $failures -ne 0 ]; then
    echo "$failures failed"
    exit 1
  fi
  echo "all passed"
}
