#!/bin/bash
# test-lab-cluster-agent.sh with the fence device, the clone and the lines
# for several nodes made with crm (docs/pacemaker.md's crm lines).
export LAB_PCMK_TOOL=crm
# shellcheck source=tests/lab/test-lab-cluster-agent.sh
. "$(dirname "$0")/test-lab-cluster-agent.sh"
