#!/bin/bash
# test-lab-pacemaker.sh with the clone created by the documented crm
# configure lines (docs/pacemaker.md) and stopped and started with crm.
export LAB_PCMK_TOOL=crm
# shellcheck source=tests/lab/test-lab-pacemaker.sh
. "$(dirname "$0")/test-lab-pacemaker.sh"
