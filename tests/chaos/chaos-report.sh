# shellcheck shell=bash
# The chaos lab's table (sourced by chaos.sh).
#
#   chaos_report RESULTS VIOLATIONS
#   chaos_verdicts RESULTS VIOLATIONS
#
# RESULTS: one line per fault, "N KIND GROUP T0_MS SETTLED RECOVERY_MS NOTE"
# (SETTLED 1 or 0; RECOVERY_MS from the harm to every group settled).
# VIOLATIONS: "MS WITNESS GROUP text" lines, WITNESS "events" or "samples".
# Each violation is counted against the last fault injected before it
# ("setup" before the first).  Prints a Markdown table: per kind of fault
# how many were injected, how many recovered within the bound, the median
# (p50) and the longest time to recovery, and the violations each witness
# saw.  chaos_verdicts prints, per kind, a line starting with PASS: (every
# fault of the kind recovered, no violation) or FAIL:, as the test
# harness's lines do (CI counts them).

chaos_report() {
	gawk -v results="$1" '
		BEGIN {
			while ((getline line < results) > 0) {
				split(line, f, " ")
				n++; t0[n] = f[4]; kind[n] = f[2]
				injected[f[2]]++
				if (f[5] == 1) { recovered[f[2]]++; times[f[2]] = times[f[2]] " " f[6] }
				kinds[f[2]] = 1
			}
		}
		{
			k = "setup"
			for (i = 1; i <= n; i++) if (t0[i] <= $1) k = kind[i]
			viol[k, $2]++; kinds[k] = 1
		}
		function stat(s, what,   v, m, i) {
			m = split(s, v, " ")
			if (m == 0) return "-"
			asort(v)
			if (what == "max") return sprintf("%.1f s", v[m] / 1000)
			return sprintf("%.1f s", (m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2) / 1000)
		}
		END {
			print "| fault | injected | recovered | p50 | max | violations (events / live XML) |"
			print "|---|---|---|---|---|---|"
			PROCINFO["sorted_in"] = "@ind_str_asc"
			for (k in kinds) {
				printf "| %s | %d | %d | %s | %s | %d / %d |\n", k, injected[k], recovered[k],
					stat(times[k], "p50"), stat(times[k], "max"), viol[k, "events"], viol[k, "samples"]
				ti += injected[k]; tr += recovered[k]; te += viol[k, "events"]; ts += viol[k, "samples"]
				all = all times[k]
			}
			printf "| all | %d | %d | %s | %s | %d / %d |\n", ti, tr, stat(all, "p50"), stat(all, "max"), te, ts
		}' "$2"
}

chaos_verdicts() {
	chaos_report "$@" | gawk -F ' *[|] *' '
		NR > 2 && $2 != "all" {
			ok = $3 == $4 && $7 == "0 / 0"
			printf "%s chaos %s: %s injected, %s recovered, p50 %s, max %s, violations %s\n",
				ok ? "PASS:" : "FAIL:", $2, $3, $4, $5, $6, $7
		}'
}
