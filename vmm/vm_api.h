/* --api-socket: the VM's control socket.  Commands (newline-delimited
 * JSON, see vmm/api.h):
 *   {"cmd":"status"}                 state, uptime, vCPUs, RAM, devices
 *   {"cmd":"pause"} / {"cmd":"resume"}  stop / restart every vCPU
 *   {"cmd":"stats"}                  every figure (vmm/vm_metrics.h) as JSON
 *   {"cmd":"metrics"}                the same in Prometheus text format, in
 *                                    the reply's "text" member
 *   {"cmd":"balloon","mib":N}        ask the guest to give up N MiB (0:
 *                                    all back); without "mib": the state
 *   {"cmd":"shutdown"}               stop the VM; kvmlab exits 0 */
#ifndef KVMLAB_VMM_VM_API_H
#define KVMLAB_VMM_VM_API_H

#include <stddef.h>

struct vm;

/* Create the socket at path for vm (nothing served yet).  Returns 0 or a
 * negative errno with a one-line reason naming --api-socket in err. */
int vm_api_create(struct vm *vm, const char *path, char *err, size_t errlen);

/* Start serving (the "api" thread).  Returns 0 or a negative errno. */
int vm_api_start(struct vm *vm);

/* Stop serving, remove the socket and free everything.  Safe if never
 * created. */
void vm_api_destroy(struct vm *vm);

#endif
