#!/usr/bin/env bash
# Installs the berth binary as PREFIX/bin/berth with one symlink per role
# (docker, dockerd, containerd, shim, runc -> berth); berth picks its role from
# the name it is called by. See `install.sh --help`.
set -euo pipefail

PROG=${0##*/}
ROLES=(docker dockerd containerd shim runc)
# Names that usually belong to other installs on a host (the Docker CLI, the
# runc that containerd and dockerd call by name): --no-docker leaves them alone.
SHADOWING=(docker runc)

usage() {
  cat <<EOF
usage: $PROG [options] BINARY        install BINARY as PREFIX/bin/berth plus the role links
       $PROG [options] --uninstall   remove PREFIX/bin/berth and the role links pointing to it

BINARY may also be given as BERTH_BINARY (e.g. dist/berth from \`deno task compile\`).

options:
  --prefix DIR   install under DIR/bin (default /usr/local)
  --no-docker    do not make the \`docker\` and \`runc\` links, so an installed Docker CLI and
                 runc keep those names (use \`berth docker ...\`, \`berth runc ...\` instead)
  --force        replace files (or foreign symlinks) that already use a link's name
  --uninstall    remove instead of install
  -h, --help     this help
EOF
}

die_usage() {
  echo "$PROG: $*" >&2
  echo "run '$PROG --help' for usage" >&2
  exit 2
}

die() {
  echo "$PROG: $*" >&2
  exit 1
}

prefix=/usr/local
force=0
no_docker=0
uninstall=0
binary=${BERTH_BINARY:-}
positional=()

while (($#)); do
  case $1 in
  --prefix)
    (($# >= 2)) || die_usage "--prefix needs a directory"
    prefix=$2
    shift 2
    continue
    ;;
  --prefix=*) prefix=${1#--prefix=} ;;
  --force) force=1 ;;
  --no-docker) no_docker=1 ;;
  --uninstall) uninstall=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  --)
    shift
    positional+=("$@")
    break
    ;;
  -*) die_usage "unknown option: $1" ;;
  *) positional+=("$1") ;;
  esac
  shift
done

[[ -n $prefix ]] || die_usage "--prefix needs a directory"
if ((${#positional[@]} > 1)); then
  die_usage "too many arguments: ${positional[*]}"
fi
if ((${#positional[@]} == 1)); then
  binary=${positional[0]}
fi

bindir=${prefix%/}/bin
target=$bindir/berth

links=()
for role in "${ROLES[@]}"; do
  if ((no_docker)) && [[ " ${SHADOWING[*]} " == *" $role "* ]]; then
    continue
  fi
  links+=("$role")
done

# True when $1 is a symlink whose target is berth (by name, as this script
# makes them, or resolving to the installed binary).
points_to_berth() {
  [[ -L $1 ]] || return 1
  local dest
  dest=$(readlink -- "$1")
  [[ $dest == berth || $dest == "$target" ]] && return 0
  [[ -e $target && $1 -ef $target ]]
}

if ((uninstall)); then
  ((${#positional[@]} == 0)) || die_usage "--uninstall takes no BINARY"
  removed=0
  for role in "${ROLES[@]}"; do
    link=$bindir/$role
    if points_to_berth "$link"; then
      rm -f -- "$link"
      echo "removed $link"
      removed=1
    elif [[ -e $link || -L $link ]]; then
      echo "$PROG: left $link alone: it is not a link to berth" >&2
    fi
  done
  if [[ -e $target || -L $target ]]; then
    rm -f -- "$target"
    echo "removed $target"
    removed=1
  fi
  ((removed)) || echo "nothing to remove under $bindir"
  exit 0
fi

[[ -n $binary ]] || die_usage "no BINARY given (argument or BERTH_BINARY)"
[[ -e $binary ]] || die_usage "$binary does not exist"
[[ -f $binary ]] || die_usage "$binary is not a regular file"
[[ -r $binary ]] || die "$binary is not readable"

# Refuse before changing anything: every name must be free, already ours, or --force.
conflicts=()
if [[ -e $target || -L $target ]] && [[ ! -f $target || -L $target ]]; then
  conflicts+=("$target (not a regular file)")
fi
for role in "${links[@]}"; do
  link=$bindir/$role
  if [[ -e $link || -L $link ]] && ! points_to_berth "$link"; then
    if [[ -L $link ]]; then
      conflicts+=("$link (a symlink to $(readlink -- "$link"))")
    else
      conflicts+=("$link (a file that is not berth's)")
    fi
  fi
done
if ((${#conflicts[@]})) && ((!force)); then
  {
    echo "$PROG: refusing to replace:"
    printf '  %s\n' "${conflicts[@]}"
    echo "use --force to replace them, or --no-docker to skip the docker and runc links"
  } >&2
  exit 1
fi

mkdir -p -- "$bindir"
tmp=""
cleanup() {
  if [[ -n $tmp ]]; then rm -f -- "$tmp"; fi
}
trap cleanup EXIT

# The binary: copied next to its final place, then renamed over it, so a
# running berth (or a concurrent caller) never sees a half-written file.
if [[ -d $target && ! -L $target ]]; then
  die "$target is a directory: not replacing it"
fi
tmp=$(mktemp -- "$bindir/.berth.XXXXXX")
cp -- "$binary" "$tmp"
chmod 0755 -- "$tmp"
mv -f -T -- "$tmp" "$target"
tmp=""
echo "installed $target"

for role in "${links[@]}"; do
  link=$bindir/$role
  if [[ -d $link && ! -L $link ]]; then
    die "$link is a directory: not replacing it"
  fi
  tmp="$bindir/.$role.berth-link.$$"
  rm -f -- "$tmp"
  ln -s berth "$tmp"
  mv -f -T -- "$tmp" "$link"
  tmp=""
  echo "linked $link -> berth"
done

# Say which other programs of the same names are on PATH (once per program).
for role in "${links[@]}"; do
  others=()
  while IFS= read -r other; do
    [[ -n $other ]] || continue
    real=$(realpath -e -- "$other" 2>/dev/null) || continue
    [[ $real -ef $target ]] && continue
    [[ " ${others[*]-} " == *" $real "* ]] && continue
    others+=("$real")
  done < <(type -P -a -- "$role" 2>/dev/null || true)
  if ((${#others[@]})); then
    echo "note: \`$role\` is also ${others[*]} on PATH; whichever comes first in PATH runs" >&2
  fi
done
