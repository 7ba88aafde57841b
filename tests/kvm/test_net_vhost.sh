#!/bin/bash
# virtio-net with vhost=on: the kernel's vhost-net moves the frames.  The
# same traffic checks as test_net (ping, 64 MiB each way with checksums)
# with 1 and 2 queue pairs, offloads off and MTU 9000; the host side shows
# the data rings were vhost's (kvmlab's own data-queue counters stay 0) and
# interrupts went straight through irqfds; with irqfd=off and with INTx
# they go through kvmlab's relay.  A driver unbind/bind resets the device:
# the rings are handed back and given to vhost again, and traffic works
# after it.  Without /dev/vhost-net: exit 2, one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlib.sh"

modprobe vhost_net 2>/dev/null
[ -c /dev/vhost-net ] || { bad "no /dev/vhost-net in the emulated host"; finish; }

# per-queue interrupt counts as the guest saw them
IRQS="grep -E 'virtio[0-9]+-(input|output)' /proc/interrupts |
  awk '{n=0; for (i=2;i<=NF;i++) if (\$i ~ /^[0-9]+\$/) n+=\$i; else break; print \"irq\", \$NF, n}'"

# the data path is vhost's: kvmlab's model moved nothing on data queues
vhost_checks() {
	local name=$1 pairs=$2 call=$3 q
	expect_grep "$name" err "virtio-net eth0 .*path=vhost pairs=$pairs"
	expect_grep "$name" err "virtio-net eth0 vhost: pairs=$pairs starts=[1-9][0-9]* stops=[0-9]+ errors=0"
	for ((q = 0; q < 2 * pairs; q++)); do
		expect_grep "$name" err "virtio-net eth0 q$q \((rx|tx)[0-9]\): packets=0 bytes=0 .*kicks=0\$"
		expect_grep "$name" err "virtio-net eth0 q$q \((rx|tx)[0-9]\): path=vhost call=$call"
	done
}

netrun basic kvh0 1 1500 "queues=1,vhost=on" "$IRQS"
vhost_checks basic 1 irqfd
expect_grep basic err 'virtio-net eth0 q0 \(rx0\): path=vhost call=irqfd relayed=0 '
expect_grep basic out '^irq virtio[0-9]+-input.0 [1-9]'

# 16 flows each way: both pairs carry traffic (the guest's per-queue
# interrupt counts say so)
netrun mq kvh1 2 1500 "queues=2,iothreads=2,vhost=on" \
	"kvmlab-guest net stream --to $HOST --streams 16 --seconds 3 --direction recv >/dev/null;
kvmlab-guest net stream --to $HOST --streams 16 --seconds 3 --direction send >/dev/null; $IRQS"
expect_grep mq out '^queues=rx-0 rx-1 tx-0 tx-1'
vhost_checks mq 2 irqfd
expect_grep mq out '^irq virtio[0-9]+-input.0 [1-9]'
expect_grep mq out '^irq virtio[0-9]+-input.1 [1-9]'

netrun nooff kvh2 1 1500 "vhost=on,offloads=off"
vhost_checks nooff 1 irqfd
netrun jumbo kvh3 1 9000 "vhost=on,mtu=9000"
expect_grep jumbo out '^mtu=9000'

# without irqfd every interrupt goes through the relay (KVM_SIGNAL_MSI)
netrun relay kvh4 1 1500 "vhost=on,irqfd=off"
vhost_checks relay 1 relay
expect_grep relay err 'virtio-net eth0 q0 \(rx0\): path=vhost call=relay relayed=[1-9]'
expect_grep relay err 'virtio-net eth0 .* msi=[1-9]'

# INTx: relay, ISR and the shared line
NETRUN_CMDLINE="console=ttyS0 quiet panic=-1 io_delay=none pci=noearly pci=nomsi" \
	netrun intx kvh5 1 1500 "vhost=on"
expect_grep intx err 'virtio-net eth0 q0 \(rx0\): path=vhost call=relay relayed=[1-9]'
expect_grep intx err 'virtio-net eth0 .* intx=[1-9]'

# reset by the driver: rings handed back and started again
RESET="d=\$(basename \$(readlink /sys/class/net/eth0/device));
echo \$d > /sys/bus/virtio/drivers/virtio_net/unbind &&
echo \$d > /sys/bus/virtio/drivers/virtio_net/bind && sleep 1 &&
ip addr add $GUESTIP/24 dev eth0 && ip link set eth0 up &&
ping -c 3 -W 5 $HOST >/dev/null && echo REBIND-PING-OK"
netrun reset kvh6 1 1500 "vhost=on" "$RESET"
expect_grep reset out '^REBIND-PING-OK'
# (stats are printed before exit hands the rings back a last time)
expect_grep reset err 'virtio-net eth0 vhost: pairs=1 starts=2 stops=1 errors=0'
expect_grep reset err 'virtio-net eth0 q0 \(rx0\): path=vhost .* base=[1-9]'

# no /dev/vhost-net: a clear error, exit 2, the tap kvmlab made is gone
modprobe -r vhost_net 2>/dev/null
modprobe tun # removed with vhost_net when nothing else used it
if [ -e /dev/vhost-net ]; then
	bad "cannot remove /dev/vhost-net for the missing-device check"
else
	status=0
	timeout 300 ip netns exec "$NS" "$KVMLAB" run --memory 64M --kernel "$GUESTS/hello" \
		--net tap=kvhnew,vhost=on >"$TMP/novhost.out" 2>"$TMP/novhost.err" </dev/null ||
		status=$?
	expect_status novhost 2
	expect_grep novhost err '^kvmlab: --net tap=kvhnew: vhost=on: /dev/vhost-net: No such file or directory \(load the vhost_net module\)$'
	if nsx test -e /sys/class/net/kvhnew; then
		bad "novhost: the tap kvmlab created is still there"
	else
		ok "novhost: no tap left behind"
	fi
	modprobe vhost_net
fi

finish
