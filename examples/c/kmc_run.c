/* Runs a scenario file to its stop condition from C, writing the same output directory as
 * `kmc run scenario.ron --out DIR`: the library's one run loop relaxes contacts, samples the
 * series and writes the files whoever drives it.
 *
 *   cc -I include examples/c/kmc_run.c -Ltarget/release -lkmc -o kmc_run
 *   ./kmc_run scenarios/quickstart.ron out/quickstart_c
 */
#include <stdio.h>

#include "kmc.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SCENARIO.ron OUT_DIR\n", argv[0]);
        return 2;
    }
    KmcSimulation *sim = NULL;
    KmcStopReason reason = KMC_STOP_REASON_IDLE;
    if (kmc_simulation_from_file(argv[1], &sim) != KMC_STATUS_OK ||
        kmc_set_output(sim, argv[2], 0) != KMC_STATUS_OK || kmc_run(sim, &reason) != KMC_STATUS_OK) {
        fprintf(stderr, "kmc_run: %s\n", kmc_last_error());
        kmc_simulation_free(sim);
        return 1;
    }
    printf("kmc_run: stopped (reason %d), output in %s\n", (int)reason, argv[2]);
    kmc_simulation_free(sim);
    return 0;
}
