#!/usr/bin/env bash
# run_lab_verdicts.sh with the lab on USB (`run --lab --usb`): every lab reader is an emulated USB
# CCID device opened by the system's pcscd + libccid + libusb (umockdev); the same expected
# verdicts hold, except rows marked for one driver (profiles/readers/expected_verdicts.csv).
exec bash "$CARDHARNESS_SOURCE_DIR/tests/integration/run_lab_verdicts.sh" --usb
