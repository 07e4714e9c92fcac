# tmux: the console test draws the dashboard in a real terminal and reads it with capture-pane.
if ! command -v tmux >/dev/null 2>&1; then
  echo "CI: installing tmux"
  if [ "$(id -u)" = "0" ]; then apt-get -o DPkg::Lock::Timeout=600 install -y tmux >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null && apt-get -o DPkg::Lock::Timeout=600 install -y tmux >/dev/null; }
  else sudo apt-get -o DPkg::Lock::Timeout=600 install -y tmux >/dev/null || { sudo apt-get -o DPkg::Lock::Timeout=600 update >/dev/null && sudo apt-get -o DPkg::Lock::Timeout=600 install -y tmux >/dev/null; }
  fi
fi
export CIVIC_REQUIRE_TMUX=1
# each test starts its own tmux server on a socket in its tmp dir and kills it: nothing to stop here
cleanup_hooks+=("true")
