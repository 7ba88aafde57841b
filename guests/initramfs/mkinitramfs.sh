#!/usr/bin/env bash
# mkinitramfs.sh: build the initramfs of kvmlab's default guest (a gzipped
# newc cpio archive; see docs/guest.md).  Run by meson (guests/meson.build);
# also usable by hand:
#
#   guests/initramfs/mkinitramfs.sh --output OUT --init guests/initramfs/init \
#       --fstab guests/initramfs/fstab --modules guests/initramfs/modules \
#       --guest-tool build/guests/kvmlab-guest
#
# Contents: /init, /etc/fstab, /bin/busybox (static) with a symlink per applet,
# /bin/kvmlab-guest, /dev/console, the kernel modules named in the --modules
# file plus their dependencies (from modules.dep, uncompressed: busybox insmod
# cannot decompress) in /lib/modules/*.ko, and their load order in
# /lib/modules/load-order.
#
# The kernel is the newest /boot/vmlinuz-VER that has /lib/modules/VER (the
# rule of tests/nested/run and kvmlab's default guest), or --kver VER.
# Without any, the initramfs is built without modules (with a warning).
#
# The archive is written by this script itself (no cpio, no root needed for
# the device node): entries sorted, owner 0:0, mtime $SOURCE_DATE_EPOCH (or
# 0), inode numbers sequential, gzip -n: the same inputs give the same bytes.
# --depfile writes a ninja depfile naming every input read (busybox, the
# modules, modules.dep, /boot and /lib/modules themselves: a new kernel
# triggers a rebuild).
set -euo pipefail
export LC_ALL=C

PROG=mkinitramfs.sh

usage() {
	cat <<EOF
Usage: $PROG --output FILE --init FILE --fstab FILE --modules FILE
             --guest-tool FILE [--busybox FILE] [--kver VER] [--depfile FILE]

  --output FILE      the initramfs to write (gzipped newc cpio)
  --init FILE        the /init script
  --fstab FILE       its /etc/fstab
  --modules FILE     module names, one a line (# comments)
  --guest-tool FILE  the static kvmlab-guest binary
  --busybox FILE     a statically linked busybox (default /bin/busybox)
  --kver VER         kernel version whose /lib/modules/VER to use (default:
                     newest /boot/vmlinuz-VER with /lib/modules/VER)
  --depfile FILE     write a ninja/make depfile for FILE's target
EOF
}

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}
warn() { echo "$PROG: warning: $*" >&2; }

output='' init='' fstab='' modlist='' guest_tool='' busybox=/bin/busybox kver='' depfile=''
while (($#)); do
	case $1 in
	--output | --init | --fstab | --modules | --guest-tool | --busybox | --kver | --depfile)
		(($# >= 2)) || {
			usage >&2
			die "$1 needs a value"
		}
		case $1 in
		--output) output=$2 ;;
		--init) init=$2 ;;
		--fstab) fstab=$2 ;;
		--modules) modlist=$2 ;;
		--guest-tool) guest_tool=$2 ;;
		--busybox) busybox=$2 ;;
		--kver) kver=$2 ;;
		--depfile) depfile=$2 ;;
		esac
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument '$1'"
		;;
	esac
done
[[ -n $output && -n $init && -n $fstab && -n $modlist && -n $guest_tool ]] || {
	usage >&2
	die "--output, --init, --fstab, --modules and --guest-tool are required"
}
for f in "$init" "$fstab" "$modlist" "$guest_tool"; do
	[[ -r $f ]] || die "$f: not readable"
done
[[ -x $busybox ]] || die "$busybox: not found (install the package busybox-static)"
if command -v readelf >/dev/null &&
	readelf -lW -- "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
	die "$busybox is dynamically linked (install busybox-static, not busybox)"
fi

mtime=${SOURCE_DATE_EPOCH:-0}
deps=("$init" "$fstab" "$modlist" "$guest_tool" "$busybox")

# --- the kernel -----------------------------------------------------------
if [[ -z $kver ]]; then
	while read -r v; do
		if [[ -d /lib/modules/$v && -r /boot/vmlinuz-$v ]]; then
			kver=$v
			break
		fi
	done < <(
		for f in /boot/vmlinuz-*; do
			[[ -e $f ]] && echo "${f#/boot/vmlinuz-}"
		done | sort -rV
	)
	[[ -d /boot ]] && deps+=(/boot)
	[[ -d /lib/modules ]] && deps+=(/lib/modules)
fi
moddir=
if [[ -z $kver ]]; then
	warn "no /boot/vmlinuz-VER with /lib/modules/VER (install linux-image-amd64): no modules in the initramfs"
elif [[ ! -r /lib/modules/$kver/modules.dep ]]; then
	warn "/lib/modules/$kver/modules.dep missing: no modules in the initramfs"
else
	moddir=/lib/modules/$kver
	deps+=("$moddir/modules.dep")
	[[ -e /boot/vmlinuz-$kver ]] && deps+=("/boot/vmlinuz-$kver")
	[[ -r $moddir/modules.builtin ]] && deps+=("$moddir/modules.builtin")
fi

# --- modules and their dependencies ---------------------------------------
# modules.dep: "kernel/x/name.ko[.xz]: dep1 dep2 ..." (paths relative to
# moddir; each line lists the full transitive set).  Keys: names with '-'
# turned into '_', as the kernel compares them.
declare -A path_of=() deps_of=() builtin=() seen=()
order=()
key_of() { # path -> normalized module name
	local b=${1##*/}
	b=${b%%.ko*}
	echo "${b//-/_}"
}
visit() { # path
	local d
	[[ -n ${seen[$1]:-} ]] && return 0
	seen[$1]=1
	for d in ${deps_of[$1]}; do
		visit "$d"
	done
	order+=("$1")
}
if [[ -n $moddir ]]; then
	while IFS= read -r line; do
		m=${line%%:*}
		b=${m##*/}
		b=${b%%.ko*}
		path_of[${b//-/_}]=$m
		deps_of[$m]=${line#*:}
	done <"$moddir/modules.dep"
	if [[ -r $moddir/modules.builtin ]]; then
		while IFS= read -r m; do
			b=${m##*/}
			b=${b%%.ko*}
			builtin[${b//-/_}]=1
		done <"$moddir/modules.builtin"
	fi
	while read -r name _; do
		[[ -z $name || $name == \#* ]] && continue
		k=${name//-/_}
		if [[ -n ${path_of[$k]:-} ]]; then
			visit "${path_of[$k]}"
		elif [[ -z ${builtin[$k]:-} ]]; then
			warn "module $name: not in $moddir (neither a module nor built in); skipped"
		fi
	done <"$modlist"
fi

# --- staging --------------------------------------------------------------
outdir=$(dirname -- "$output")
mkdir -p -- "$outdir"
tmp=$(mktemp -d -- "$outdir/.mkinitramfs.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
stage=$tmp/root
mkdir -p -- "$stage/lib/modules"

# kvmlab-guest without its symbols (a third of its size).
cp -- "$guest_tool" "$tmp/kvmlab-guest"
if command -v strip >/dev/null; then
	strip --strip-all -- "$tmp/kvmlab-guest"
fi

: >"$stage/lib/modules/load-order"
for m in ${order[@]+"${order[@]}"}; do
	src=$moddir/$m
	base=${m##*/}
	base=${base%%.ko*}
	dest=$stage/lib/modules/$base.ko
	case $m in
	*.ko) cp -- "$src" "$dest" ;;
	*.ko.xz) xz -dc -- "$src" >"$dest" ;;
	*.ko.zst) zstd -qdc -- "$src" >"$dest" ;;
	*.ko.gz) gzip -dc -- "$src" >"$dest" ;;
	*) die "$src: unknown module file type" ;;
	esac
	echo "$base" >>"$stage/lib/modules/load-order"
	deps+=("$src")
done

# --- the archive ----------------------------------------------------------
# newc: a 110-byte ASCII header (magic + 13 fields of 8 hex digits), the name
# and its NUL padded to 4 bytes, the data padded to 4 bytes.
ino=0
pad() { # bytes written so far in this part
	local n=$(((4 - $1 % 4) % 4))
	if ((n)); then head -c "$n" /dev/zero; fi
}
entry() { # name mode nlink size rdevmajor rdevminor
	ino=$((ino + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" "$2" 0 0 "$3" "$mtime" "$4" 0 0 "$5" "$6" $((${#1} + 1)) 0
	printf '%s\0' "$1"
	pad $((110 + ${#1} + 1))
}
dir() { entry "$1" $((8#040755)) 2 0 0 0; }
file() { # name mode source
	local size
	size=$(stat -c %s -- "$3")
	entry "$1" $((8#100000 | $2)) 1 "$size" 0 0
	cat -- "$3"
	pad "$size"
}
symlink() { # name target
	entry "$1" $((8#120777)) 1 ${#2} 0 0
	printf '%s' "$2"
	pad ${#2}
}

# Applet links: every applet this busybox has, except names we provide.
mapfile -t applets < <("$busybox" --list-full | grep -v -x -e 'linuxrc' -e 'init' \
	-e 'bin/busybox' -e 'bin/kvmlab-guest' | sort -u)
((${#applets[@]} > 0)) || die "$busybox --list-full listed no applets"

{
	dirs=(bin dev etc lib lib/modules proc root run sbin sys tmp usr usr/bin usr/sbin)
	for a in "${applets[@]}"; do
		d=${a%/*}
		[[ $d != "$a" ]] && dirs+=("$d")
	done
	for d in $(printf '%s\n' "${dirs[@]}" | sort -u); do
		dir "$d"
	done
	entry dev/console $((8#020600)) 1 0 5 1
	file init 8#755 "$init"
	file etc/fstab 8#644 "$fstab"
	file bin/busybox 8#755 "$busybox"
	file bin/kvmlab-guest 8#755 "$tmp/kvmlab-guest"
	for f in $(cd "$stage/lib/modules" && ls); do
		file "lib/modules/$f" 8#644 "$stage/lib/modules/$f"
	done
	for a in "${applets[@]}"; do
		symlink "$a" /bin/busybox
	done
	entry 'TRAILER!!!' 0 1 0 0 0
} | gzip -9n >"$tmp/out"
mv -f -- "$tmp/out" "$output"

if [[ -n $depfile ]]; then
	{
		printf '%s:' "${output// /\\ }"
		for d in "${deps[@]}"; do
			printf ' \\\n  %s' "${d// /\\ }"
		done
		printf '\n'
	} >"$tmp/dep"
	mv -f -- "$tmp/dep" "$depfile"
fi
