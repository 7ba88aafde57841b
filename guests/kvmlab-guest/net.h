/* kvmlab-guest net: a TCP benchmark and transfer verifier (docs/guest.md,
 * "kvmlab-guest net").
 *
 * A server that serves each connection by the mode its client announces,
 * and the clients: bulk streams in either direction over parallel
 * connections, request/response latency on one connection, and a transfer
 * of the seeded pattern of pattern.h in either direction with every byte
 * checked by the receiver.  Results are one JSON line.  The program is
 * static, so the same binary serves as the peer on the host. */
#ifndef KVMLAB_GUEST_NET_H
#define KVMLAB_GUEST_NET_H

/* The subcommand: argv[0] is "net", then MODE (server, stream, rr,
 * send-file, recv-file) and options (see `kvmlab-guest net --help`).
 * Returns the exit status: 0 success; 1 a connection, setup or
 * verification failure (a message on stderr); 2 bad usage (a message naming
 * the option on stderr). */
int net_main(int argc, char **argv);

#endif
