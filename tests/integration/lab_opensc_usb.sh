#!/usr/bin/env bash
# lab_opensc.sh through the real CCID driver: OpenSC's JPKI driver lists the certificates, reads
# them byte-identical and signs (OpenSSL verifies) on a contact and a Type B lab reader that are
# emulated USB CCID devices opened by the system's pcscd + libccid + libusb (`lab start --usb`).
exec bash "$CARDHARNESS_SOURCE_DIR/tests/integration/lab_opensc.sh" --usb
