#!/usr/bin/env python3
"""Write the seed corpora of fuzz_virtio_blk, fuzz_virtio_net,
fuzz_pci_config, fuzz_loader and fuzz_cli (the input formats are described
at the top of each tests/fuzz/fuzz_<name>.c).  Run from anywhere:
    tests/fuzz/corpus/make_seeds.py
Each seed is a few hundred bytes at most, except the loader's images."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def le16(v):
    return struct.pack("<H", v & 0xFFFF)


def le32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def le64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


# ---- fuzz_virtio_blk -------------------------------------------------------

IN, OUT, FLUSH, GET_ID, DISCARD, WZ, RAW, CTRL = range(8)


def blk_buf(length, write=False, skew=False, place=0):
    return le16(length | (0x8000 if write else 0) | (0x4000 if skew else 0)) + bytes([place])


def blk_req(kind, v, bufs, payload=b"", indirect=False, kick=False):
    op = kind | (8 if indirect else 0) | (0x10 if kick else 0) | ((len(bufs) - 1) << 5)
    return bytes([op]) + le32(v) + bytes([len(payload)]) + b"".join(bufs) + payload


def blk_ctrl(sub):
    return bytes([CTRL | sub << 3])


def blk_range(sector, num, flags=0):
    return le64(sector) + le32(num) + le32(flags)


def blk_header(readonly=False, discard=True, cache=1, bs4k=False, dio=0, refuse=0, qshift=4,
               partial=False):
    b0 = (1 if readonly else 0) | (2 if discard else 0) | cache << 2 | (0x20 if bs4k else 0) | dio << 6
    b1 = refuse | qshift << 4 | (0x80 if partial else 0)
    return bytes([b0, b1])


def blk_seeds():
    hdr, st = blk_buf(16), blk_buf(1, True)
    rw = (
        blk_header()
        + blk_req(OUT, 8, [hdr, blk_buf(4096), st])
        + blk_req(IN, 8, [hdr, blk_buf(4096, True), st])
        + blk_req(FLUSH, 0, [hdr, st])
        + blk_req(GET_ID, 0, [hdr, blk_buf(21, True)], kick=True)
        + blk_req(IN, 2047, [hdr, blk_buf(512, True), st], kick=True)
    )
    write("virtio_blk", "read_write", rw)
    # one buffer across the region boundary at 0x10000, the header and
    # status split over several buffers
    split = (
        blk_header(qshift=3)
        + blk_req(OUT, 0, [blk_buf(10), blk_buf(6), blk_buf(0x3000), blk_buf(0x3000), st])
        + blk_req(OUT, 0, [blk_buf(16), blk_buf(0x3000), blk_buf(0x3000), st], kick=True)
        + blk_req(IN, 0, [hdr, blk_buf(0x3000, True), blk_buf(0x3000, True), blk_buf(1, True)],
                  kick=True)
    )
    write("virtio_blk", "split_buffers", split)
    ranges = blk_range(0, 8) + blk_range(64, 128)
    dis = (
        blk_header(discard=True)
        + blk_req(OUT, 0, [hdr, blk_buf(8192), st])
        + blk_req(DISCARD, 0, [hdr, blk_buf(32), st], payload=ranges)
        + blk_req(WZ, 0, [hdr, blk_buf(16), st], payload=blk_range(16, 8, 1))
        + blk_req(WZ, 0, [hdr, blk_buf(16), st], payload=blk_range(2040, 16), kick=True)
        + blk_req(DISCARD, 0, [hdr, blk_buf(16), st], payload=blk_range(0, 8, 1), kick=True)
    )
    write("virtio_blk", "discard_write_zeroes", dis)
    # O_DIRECT alignment 512: misaligned memory goes through the bounce
    # buffer; indirect tables; the write cache switched off (dsync)
    bounce = (
        blk_header(dio=1, cache=0)
        + blk_ctrl(1)
        + blk_req(OUT, 16, [hdr, blk_buf(1024, skew=True), st], indirect=True)
        + blk_req(IN, 16, [hdr, blk_buf(512, True, skew=True), blk_buf(512, True), st],
                  indirect=True)
        + blk_req(IN, 17, [hdr, blk_buf(512, True), st], kick=True)
        + blk_ctrl(2)
        + blk_req(OUT, 3, [hdr, blk_buf(1536, skew=True), st], kick=True)
        + blk_ctrl(4)
    )
    write("virtio_blk", "bounce_indirect", bounce)
    bad = (
        blk_header(readonly=True, partial=True, qshift=2)
        + blk_req(OUT, 0, [hdr, blk_buf(512), st])
        + blk_req(IN, 0x7FFFFFF0 | 0x80000000, [hdr, blk_buf(512, True), st])
        + blk_req(IN, 0, [hdr, blk_buf(100, True), st], kick=True)
        + blk_req(RAW, 0x1234, [hdr, st])
        + blk_req(IN, 0, [hdr, blk_buf(512)])
        + blk_req(IN, 0, [blk_buf(8), st], kick=True)
        + blk_req(DISCARD, 0, [hdr, blk_buf(16), st], payload=blk_range(0, 8))
        + blk_req(IN, 0, [hdr, st, blk_buf(512)], kick=True)
        + blk_req(IN, 0, [hdr, blk_buf(0, True), st], kick=True)
    )
    write("virtio_blk", "malformed", bad)
    # buffers placed by hand (one over the descriptor table), a reset,
    # indirect without the feature, a ring of 4
    reset = (
        blk_header(qshift=2, refuse=3)
        + blk_req(IN, 0, [hdr, blk_buf(512, True, place=0x40), st])
        + blk_req(OUT, 0, [hdr, blk_buf(512, place=0x41), st])
        + blk_ctrl(3)
        + blk_req(IN, 0, [hdr, blk_buf(64, True, place=0x02), st], kick=True)
        + blk_req(IN, 0, [hdr, blk_buf(512, True), st], indirect=True, kick=True)
        + blk_req(IN, 0, [hdr, blk_buf(512, True), st], kick=True)
    )
    write("virtio_blk", "placed_and_reset", reset)


# ---- fuzz_virtio_net -------------------------------------------------------

NET_CTRL_RX, NET_CTRL_MAC, NET_CTRL_MQ = 0, 1, 4


def net_header(pairs=1, offloads=True, tap_uso=False, small_budget=False, qshift=4, refuse=0x20,
               mtu=1500):
    b0 = (1 if pairs == 2 else 0) | (2 if offloads else 0) | (4 if tap_uso else 0)
    b0 |= (8 if small_budget else 0) | qshift << 4
    return bytes([b0, refuse]) + le16(mtu)


def net_buf(length, write=False, skew=False, place=0):
    return blk_buf(length, write, skew, place)


def net_chain(q, bufs, payload=b"", indirect=False, kick=False):
    a = q | (8 if indirect else 0) | (16 if kick else 0)
    return bytes([0 | a << 3, len(bufs) - 1, len(payload)]) + b"".join(bufs) + payload


def net_send(pair, length, rx=True):
    return bytes([1 | (pair | (2 if rx else 0)) << 3]) + le16(length)


def net_kick(q):
    return bytes([2 | q << 3])


def net_tap(pair):
    return bytes([3 | pair << 3])


def net_ctrl(cls, cmd, data=b"", split=False):
    return bytes([6 | (1 if split else 0) << 3, cls, cmd, len(data)]) + data


def net_tx(pair, length, one=False):
    return bytes([7 | (pair | (2 if one else 0)) << 3]) + le16(length)


def vnet_hdr(flags=1, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0):
    return bytes([flags, gso]) + le16(hdr_len) + le16(gso_size) + le16(csum_start) + \
        le16(csum_off) + le16(0)


def net_seeds():
    w1600 = net_buf(1600, True)
    basic = (
        net_header(refuse=0x21)  # no merged buffers, no guest TSO
        + net_chain(0, [w1600]) + net_chain(0, [w1600], kick=True)
        + net_send(0, 100)
        + net_tx(0, 60)
        + net_tx(0, 1000, one=True)
        + net_chain(1, [net_buf(12), net_buf(64)], payload=vnet_hdr() + b"\x02" * 12, kick=True)
        + net_send(0, 1514) + net_send(0, 1600)
        + bytes([5])
    )
    write("virtio_net", "tx_rx", basic)
    w256 = net_buf(256, True)
    mrg = (
        net_header(qshift=3, refuse=0x20)
        + b"".join(net_chain(0, [w256]) for _ in range(7))
        + net_send(0, 1500)  # needs 6 chains: back-pressure first
        + net_chain(0, [net_buf(128, True), net_buf(128, True)], kick=True)
        + net_tap(0)
        + net_send(0, 40)
        + b"".join(net_chain(0, [w256], indirect=True) for _ in range(4))
        + net_kick(0)
    )
    write("virtio_net", "merged_rx", mrg)
    mq = (
        net_header(pairs=2, refuse=0x20)
        + net_ctrl(NET_CTRL_MQ, 0, le16(2))
        + net_ctrl(NET_CTRL_RX, 0, b"\x01", split=True)
        + net_ctrl(NET_CTRL_MAC, 1, b"\x02\x00\x00\x00\x00\x09")
        + net_ctrl(NET_CTRL_MQ, 0, le16(3))
        + net_ctrl(8, 0)
        + net_chain(2, [net_buf(2048, True)], kick=True)
        + net_send(1, 300)
        + net_tx(1, 200)
        + net_ctrl(NET_CTRL_MQ, 0, le16(1))
        + net_send(1, 300)
    )
    write("virtio_net", "ctrl_mq", mq)
    bad = (
        net_header(qshift=2, refuse=0x20, mtu=0)
        + net_chain(1, [net_buf(12), net_buf(64, True)], kick=True)
        + net_chain(1, [net_buf(8)], kick=True)
        + net_chain(0, [net_buf(16), w1600], kick=True)
        + net_chain(0, [net_buf(8, True)], kick=True)
        + net_send(0, 20)
        + net_chain(2, [net_buf(2)], payload=b"\x00\x00", kick=True)
        + net_chain(1, [net_buf(0)], kick=True)
    )
    write("virtio_net", "malformed", bad)
    budget = (
        net_header(small_budget=True, refuse=0x21)
        + b"".join(net_chain(1, [net_buf(12), net_buf(100)], payload=vnet_hdr()) for _ in range(5))
        + net_kick(1)
        + b"".join(net_chain(0, [w1600]) for _ in range(4))
        + b"".join(net_send(0, 1000, rx=False) for _ in range(4))
        + net_tap(0)
    )
    write("virtio_net", "budget", budget)
    placed = (
        net_header(qshift=3, refuse=0x01, mtu=9000)
        + net_chain(1, [net_buf(12, place=0x20), net_buf(40, place=0x21)], indirect=True)
        + net_chain(1, [net_buf(12), net_buf(1400, skew=True)], payload=vnet_hdr(gso=1), kick=True)
        + net_chain(0, [net_buf(512, True, place=0x01)], kick=True)
        + net_send(0, 100)
        + net_chain(0, [net_buf(4096, True, place=0x7f)] * 4, kick=True)
        + bytes([4])
        + net_send(0, 9000)
    )
    write("virtio_net", "placed_indirect", placed)


# ---- fuzz_pci_config -------------------------------------------------------

LEN_SEL = {1: 0, 2: 1, 4: 2, 8: 3}


def pci_latch(reg, slot, func1=False, bus1=False, disabled=False, alen=4):
    a = {4: 0, 1: 1, 2: 2, 8: 3}[alen]
    ctl = slot | (32 if func1 else 0) | (64 if bus1 else 0) | (128 if disabled else 0)
    return bytes([0 | a << 3, reg, ctl])


def pci_cfg_rd(length, off=0):
    return bytes([1 | (off | LEN_SEL[length] << 2) << 3])


def pci_cfg_wr(value, length, off=0):
    return bytes([2 | (off | LEN_SEL[length] << 2) << 3]) + value.to_bytes(length, "little")


def pci_cfg(slot, reg, value, length):
    """Latch reg of slot and write value there."""
    return pci_latch(reg & 0xFC, slot) + pci_cfg_wr(value, length, reg & 3)


def pci_bar_rd(dev, off, length):
    return bytes([3 | (dev | LEN_SEL[length] << 1) << 3]) + le16(off)


def pci_bar_wr(dev, off, value, length):
    return bytes([4 | (dev | LEN_SEL[length] << 1) << 3]) + le16(off) + \
        value.to_bytes(length, "little")


def pci_io(kick_dev=None, q=0):
    if kick_dev is None:
        return bytes([5])
    return bytes([5 | (1 | kick_dev << 1 | q << 2) << 3])


def pci_mem(addr, data):
    return bytes([6]) + le16(addr) + bytes([len(data)]) + data


def pci_step(dev, step, arg=None):
    return bytes([7 | (step | dev << 3) << 3]) + (bytes([arg]) if arg is not None else b"")


PCI_COMMAND, BAR0, BAR1 = 0x04, 0x10, 0x14
MSIX_CTL = 0x42  # the MSI-X capability is the first one, at 0x40
CC_STATUS, CC_QSEL, CC_QSIZE, CC_QENABLE = 0x14, 0x16, 0x18, 0x1C


def pci_seeds():
    probe = (
        bytes([0x00])
        + pci_step(0, 0) + pci_step(0, 1) + pci_step(0, 2)
        + pci_step(0, 3, 63) + pci_step(0, 3, 200) + pci_step(0, 3, 0)
        + pci_step(0, 4) + pci_step(0, 7)
        + pci_step(1, 0) + pci_step(1, 2) + pci_step(1, 3, 10) + pci_step(1, 4)
    )
    write("pci_config", "linux_probe", probe)
    sizing = (
        bytes([0x05])
        + pci_latch(BAR0, 1) + pci_cfg_wr(0xFFFFFFFF, 4) + pci_cfg_rd(4)
        + pci_latch(BAR1, 1) + pci_cfg_wr(0xFFFFFFFF, 4) + pci_cfg_rd(4)
        + pci_cfg(1, BAR1, 0x1, 4) + pci_cfg(1, BAR0, 0x0, 4)
        + pci_step(0, 0) + pci_step(1, 0)
        + pci_cfg(1, BAR0, 0xC0010000, 4) + pci_cfg(1, BAR1, 0, 4)
        + pci_bar_rd(0, 0x14, 1)
        + pci_cfg(2, BAR1, 0, 4) + pci_cfg(2, BAR0, 0xC0010000, 4)
        + pci_cfg(1, BAR0, 0xC0020000, 4)
        + pci_cfg(2, PCI_COMMAND, 0, 2) + pci_cfg(2, PCI_COMMAND, 2, 2)
        + pci_cfg(1, 0x12, 0xFFFF, 2)
        + pci_cfg(1, 0x00, 0xFFFFFFFF, 4) + pci_latch(0, 1) + pci_cfg_rd(2)
    )
    write("pci_config", "bar_moves", sizing)
    ent = lambda v: 0x4000 + 16 * v
    msix = (
        bytes([0x01])
        + pci_step(0, 0)
        + pci_cfg(1, MSIX_CTL, 0xC000, 2)
        + pci_bar_wr(0, ent(0), 0xFEE00000, 4) + pci_bar_wr(0, ent(0) + 8, 0x4021, 4)
        + pci_bar_wr(0, ent(0) + 12, 0, 4)
        + pci_bar_wr(0, ent(1), 0x12345678, 8) + pci_bar_wr(0, ent(1) + 8, 0x4022, 8)
        + pci_bar_wr(0, ent(1) + 12, 0, 1)
        + pci_bar_wr(0, ent(2), 0xFEE01000, 4) + pci_bar_wr(0, ent(2) + 12, 0, 4)
        + pci_cfg(1, MSIX_CTL, 0x8000, 2)
        + pci_step(0, 2) + pci_step(0, 3, 16)
        + pci_bar_wr(0, ent(1), 0xFEE00000, 4)
        + pci_bar_rd(0, 0x8000, 8) + pci_bar_rd(0, ent(1) + 4, 8)
        + pci_cfg(1, MSIX_CTL, 0xC000, 2) + pci_step(0, 3, 16) + pci_cfg(1, MSIX_CTL, 0x8000, 2)
        + pci_bar_wr(0, ent(0) + 12, 1, 4) + pci_step(0, 3, 16) + pci_bar_wr(0, ent(0) + 12, 0, 4)
        + pci_step(0, 7)
    )
    write("pci_config", "msix_table", msix)
    cc = (
        bytes([0x02])
        + pci_step(0, 0)
        + pci_bar_wr(0, 0x00, 1, 4) + pci_bar_rd(0, 0x04, 4)
        + pci_bar_wr(0, 0x08, 1, 4) + pci_bar_wr(0, 0x0C, 1, 4)
        + pci_bar_wr(0, CC_STATUS, 1, 1) + pci_bar_wr(0, CC_STATUS, 3, 1)
        + pci_bar_wr(0, CC_STATUS, 11, 1) + pci_bar_rd(0, CC_STATUS, 1)
        + pci_bar_wr(0, CC_QSEL, 2, 2) + pci_bar_rd(0, CC_QSIZE, 2)
        + pci_bar_wr(0, CC_QSIZE, 3, 2) + pci_bar_wr(0, 0x20, 0x1000, 8)
        + pci_bar_wr(0, 0x28, 0x1100, 4) + pci_bar_wr(0, 0x30, 0x1200, 4)
        + pci_bar_wr(0, CC_QENABLE, 1, 2) + pci_bar_rd(0, CC_STATUS, 1)
        + pci_bar_wr(0, CC_QSEL, 7, 2) + pci_bar_wr(0, 0x1A, 9, 2) + pci_bar_rd(0, 0x1A, 2)
        + pci_bar_wr(0, 0x10, 0x7FF, 2) + pci_bar_rd(0, 0x15, 1)
        + pci_bar_wr(0, 0x3000, 0, 2) + pci_bar_wr(0, 0x3008, 0, 2) + pci_io()
        + pci_bar_rd(0, 0x1000, 1) + pci_bar_rd(0, 0x2000, 4) + pci_bar_rd(0, 0x0FFE, 4)
        + pci_bar_wr(0, CC_STATUS, 0, 1)
    )
    write("pci_config", "common_cfg", cc)
    intx = (
        bytes([0x10])
        + pci_step(1, 0) + pci_step(1, 2)
        + pci_mem(0x4100, b"\x00\x00\x00\x00")
        + pci_step(1, 3, 40) + pci_step(1, 3, 1)
        + pci_cfg(2, PCI_COMMAND, 0x406, 2)
        + pci_cfg(2, PCI_COMMAND, 0x006, 2)
        + pci_step(1, 4)
        + pci_latch(0x04, 2) + pci_cfg_rd(4)
        + pci_io(1, 0) + pci_step(1, 3, 100) + pci_step(1, 5) + pci_step(1, 4)
    )
    write("pci_config", "intx", intx)
    latch = (
        bytes([0x0F])
        + pci_latch(0, 0) + pci_cfg_rd(4) + pci_cfg_rd(2, 2) + pci_cfg_rd(1, 3) + pci_cfg_rd(8)
        + pci_latch(0, 1, disabled=True) + pci_cfg_rd(4)
        + pci_latch(0, 1, func1=True) + pci_cfg_rd(4)
        + pci_latch(0, 1, bus1=True) + pci_cfg_rd(4)
        + pci_latch(0, 2, alen=1) + pci_cfg_rd(4)
        + pci_latch(0x40, 2) + pci_cfg_rd(4) + pci_cfg_wr(0xFFFFFFFF, 4) + pci_cfg_rd(2, 2)
        + pci_latch(0x3C, 2) + pci_cfg_wr(0xAB, 1) + pci_cfg_wr(0xFFFF, 2, 3)
        + pci_latch(0xFC, 1) + pci_cfg_rd(4) + pci_latch(0x04, 9) + pci_cfg_wr(6, 2)
    )
    write("pci_config", "config_latch", latch)


# ---- fuzz_loader -----------------------------------------------------------

MIB = 1 << 20


def loader_header(cmdline=1, initrd=0, e820=0):
    return bytes([cmdline | initrd << 2, e820])


def elf(segments, entry, etype=2, machine=62):
    """segments: (type, paddr, file bytes, memsz); file data follows the
    program headers."""
    phoff = 64
    data_off = phoff + 56 * len(segments)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0, 64, 56,
                      len(segments), 0, 0, 0)
    ph, blob = b"", b""
    for ptype, paddr, body, memsz in segments:
        ph += struct.pack("<IIQQQQQQ", ptype, 7, data_off + len(blob), paddr, paddr, len(body),
                          memsz, 0x1000)
        blob += body
    return eh + ph + blob


def bzimage(ksize=512, version=0x20F, loadflags=1, xloadflags=3, relocatable=1,
            alignment=2 * MIB, pref=MIB, init_size=0x10000, cmdline_size=255,
            initrd_max=0x7FFFFFFF, setup_sects=1, syssize=None):
    f = bytearray((setup_sects + 1) * 512 + ksize)
    f[0x1F1] = setup_sects
    struct.pack_into("<I", f, 0x1F4, (syssize if syssize is not None else ksize // 16))
    struct.pack_into("<H", f, 0x1FE, 0xAA55)
    f[0x200] = 0xEB
    f[0x201] = 0x26C - 0x202
    f[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", f, 0x206, version)
    f[0x211] = loadflags
    struct.pack_into("<I", f, 0x22C, initrd_max)
    struct.pack_into("<I", f, 0x230, alignment)
    f[0x234] = relocatable
    struct.pack_into("<H", f, 0x236, xloadflags)
    struct.pack_into("<I", f, 0x238, cmdline_size)
    struct.pack_into("<Q", f, 0x258, pref)
    struct.pack_into("<I", f, 0x260, init_size)
    for i in range(ksize):
        f[(setup_sects + 1) * 512 + i] = (i * 7 + 3) & 0xFF
    return bytes(f)


def e820_entries(entries):
    out = b""
    for addr, size, typ in entries:
        out += le32(addr >> 12) + le32(size >> 12) + bytes([typ])
    return out


def loader_seeds():
    code = bytes(range(64))
    write("loader", "elf_basic",
          loader_header() + elf([(1, MIB, code, 0x1000)], MIB + 16))
    write("loader", "elf_segments",
          loader_header(cmdline=0) + elf([
              (6, 0, b"", 0),  # PT_PHDR: skipped
              (1, MIB + 0x3F000, code * 2, 0x2000),  # across the region boundary
              (1, (1 << 32) - 0x800, code, 0x1000),  # across 4 GiB
              (1, 2 * MIB, b"", 0),  # empty: skipped
          ], (1 << 32) - 0x800 + 8))
    write("loader", "elf_low_segment",
          loader_header() + elf([(1, 0x8000, code, 0x100)], 0x8000))
    write("loader", "bz_relocatable", loader_header(cmdline=1, initrd=2) + bzimage())
    write("loader", "bz_fixed_high_initrd",
          loader_header(cmdline=2, initrd=3, e820=1)
          + bzimage(relocatable=0, pref=MIB, init_size=0x50000, initrd_max=0xFFFFFFFF))
    write("loader", "bz_e820_entries",
          loader_header(cmdline=0, initrd=4, e820=3)
          + e820_entries([(0, 0x9F000, 1), (MIB, 0x80000, 1), (2 * MIB, 0x40000, 1)])
          + bzimage(alignment=0x1000, pref=MIB + 0x1000, init_size=0x60000, cmdline_size=0))
    write("loader", "bz_too_big",
          loader_header(cmdline=3, initrd=6) + bzimage(init_size=16 * MIB, version=0x20C))


# ---- fuzz_cli --------------------------------------------------------------


def cli_seeds():
    words = lambda *w: "\n".join(w).encode()
    write("cli", "full_run", words(
        "--kernel", "/boot/vmlinuz", "--initrd=/boot/initrd.img", "--cmdline", "console=ttyS0 quiet",
        "--memory", "size=1G,backend=memfd,shared=on,prealloc=off,thp=on",
        "--cpus", "boot=4,topology=1:2:2,affinity=0@0:1@0-1,halt-poll-ns=1000",
        "--disk", "path=/d.img,cache=none,engine=io_uring,queues=4,queue-size=128,iothreads=2,"
        "serial=abc",
        "--net", "tap=tap0,mac=02:00:00:00:00:01,queues=2,mtu=9000,vhost=on",
        "--rng", "--balloon", "stats=on", "--stats", "--trace", "exits,boot",
        "--serial", "file=/tmp/serial", "--api-socket", "/tmp/api", "--", "/bin/sh", "-c", "echo"))
    write("cli", "nul_separated",
          b"--rng\0ioeventfd=off,irqfd=on\0--balloon=deflate-on-oom=on,free-page-reporting=on"
          b"\0--memory=512M\0--cpus=2\0--disk=path=a,readonly=on\0--disk=path=b\0--stats")
    write("cli", "refusals", words(
        "--disk", "path=,cache=fast", "--cpus", "0", "--memory", "1K", "--net", "tap=",
        "--trace", "everything", "--serial", "file=", "--bogus", "--", ""))
    write("cli", "memory_value",
          b"size=2G,backend=hugetlbfs,hugepage-size=1G,path=/dev/hugepages,host-nodes=0-1,"
          b"policy=bind,merge=off")
    write("cli", "disk_value",
          b"path=/x.img,readonly=on,discard=off,iothread-affinity=0-1:3,queues=2,iothreads=2,"
          b"ioeventfd=off,irqfd=off,serial=SN-1")
    write("cli", "net_value",
          b"tap=tap1,queues=8,queue-size=1024,iothreads=4,iothread-affinity=2,offloads=off,mtu=68")
    write("cli", "cpus_value", b"boot=8,affinity=0@0,1:1@1-2,3,topology=2:2:2")
    write("cli", "balloon_value",
          b"deflate-on-oom=on,free-page-reporting=on,stats=on,ioeventfd=off,irqfd=off")
    write("cli", "cpu_list", b"0-3,8:10-11")


def main():
    blk_seeds()
    net_seeds()
    pci_seeds()
    loader_seeds()
    cli_seeds()


if __name__ == "__main__":
    main()
