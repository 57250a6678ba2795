# Expected USB facts straight from a CCID driver `parse` dump, independent of the C++ parser.
# Prints "D KEY vid bcd_device" once and "I KEY ifnum level maxmsg [protocols] slots" per
# interface number (the first block of each); KEY is -v key=... (default "vid:pid").
function hexval(s,   i, c, v) {
    v = 0; s = toupper(s); sub(/^0X/, "", s)
    for (i = 1; i <= length(s); i++) { c = index("0123456789ABCDEF", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v
}
{ sub(/\r$/, "") }
/ idVendor:/ { vid = hexval($2) }
/ idProduct:/ { pid = hexval($2) }
/ bcdDevice:/ { split($2, b, "."); bcd = hexval(b[1]) * 256 + hexval(b[2]) }
/ bInterfaceNumber:/ { ifnum = $2 }
/^  bMaxSlotIndex:/ { slots = hexval($2) + 1 }
/^  dwProtocols:/ {
    # parse prints the high and the low 16 bits; bit 0 is T=0, bit 1 is T=1. The other bits are
    # reserved (a finding, reserved_protocol_bits), never a protocol "T=8" or "T=17".
    p = hexval($2) * 65536 + hexval($3); protocols = ""
    for (bit = 0; bit < 2; bit++)
        if (int(p / 2 ^ bit) % 2 == 1) protocols = protocols (protocols == "" ? "" : ",") bit
}
/^  dwFeatures:/ {
    f = int(hexval($2) / 65536) % 8
    level = (f == 0 ? "character" : f == 1 ? "tpdu" : f == 2 ? "short_apdu" : f == 4 ? "extended_apdu" : "reserved")
}
/^  dwMaxCCIDMessageLength:/ {
    maxmsg = $2
    k = (key == "" ? vid ":" pid : key)
    if (!(k in seen)) { seen[k] = 1; print "D", k, vid, pid, bcd }
    if (!((k, ifnum) in seen_if)) { seen_if[k, ifnum] = 1; print "I", k, ifnum, level, maxmsg, "[" protocols "]", slots }
}
