/* Drives kmc from C the way an MD code would: create a simulation from a scenario, run KMC,
 * take the atoms out, hand them back (slightly displaced, as after MD), checkpoint to a buffer
 * and a file, restore, and check the error paths. Prints "kmc_example: OK" on success.
 *
 *   cc -I include examples/c/kmc_example.c -Ltarget/release -lkmc -o kmc_example
 *   ./kmc_example examples/c/film.ron /tmp
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmc.h"

#define CHECK(call)                                                                   \
    do {                                                                              \
        KmcStatus st_ = (call);                                                       \
        if (st_ != KMC_STATUS_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s failed (%d): %s\n", __FILE__, __LINE__, #call, \
                    (int)st_, kmc_last_error());                                      \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s scenario.ron scratch_dir\n", argv[0]);
        return 2;
    }
    printf("kmc %s\n", kmc_version());
    /* The thread pool is sized before any work (as RAYON_NUM_THREADS would), and only then. */
    CHECK(kmc_set_threads(2));
    uint32_t threads = 0;
    CHECK(kmc_thread_count(&threads));
    EXPECT(threads == 2);
    EXPECT(kmc_set_threads(1) == KMC_STATUS_SIMULATION);
    EXPECT(strstr(kmc_last_error(), "already running with 2 thread(s)") != NULL);
    EXPECT(kmc_set_threads(0) == KMC_STATUS_INVALID_ARGUMENT);
    char *text = read_file(argv[1]);
    EXPECT(text != NULL);

    KmcSimulation *sim = NULL;
    CHECK(kmc_simulation_new(text, &sim));
    free(text);

    uint32_t n_species = 0;
    CHECK(kmc_species_count(sim, &n_species));
    EXPECT(n_species == 2);
    const char *name = NULL;
    CHECK(kmc_species_name(sim, 2, &name));
    EXPECT(strcmp(name, "Ag") == 0);

    uint64_t done = 0;
    CHECK(kmc_run_events(sim, 400, &done));
    EXPECT(done == 400);
    int reached = 0;
    double t = 0.0;
    CHECK(kmc_time(sim, &t));
    CHECK(kmc_run_until(sim, t + 2e-4, &reached));
    EXPECT(reached == 1);

    /* Atoms out: ask for the count, then copy. */
    size_t n = 0;
    CHECK(kmc_atom_count(sim, &n));
    size_t got = 0;
    EXPECT(kmc_get_atoms(sim, n - 1, NULL, NULL, &got) == KMC_STATUS_BUFFER_TOO_SMALL);
    EXPECT(got == n);
    uint8_t *species = malloc(n);
    double *pos = malloc(3 * n * sizeof(double));
    CHECK(kmc_get_atoms(sim, n, species, pos, &got));
    EXPECT(got == n);
    double box[3];
    CHECK(kmc_get_box(sim, box));
    EXPECT(box[0] > 28.9 && box[0] < 29.0); /* 8 cells of 3.615 A */

    KmcObservables before = {.version = KMC_OBSERVABLES_VERSION};
    CHECK(kmc_get_observables(sim, &before));

    /* The site of each atom, in kmc_get_atoms order. */
    size_t *sites_before = malloc(n * sizeof(size_t));
    size_t *sites = malloc(n * sizeof(size_t));
    EXPECT(kmc_get_atom_sites(sim, n - 1, sites_before, &got) == KMC_STATUS_BUFFER_TOO_SMALL);
    CHECK(kmc_get_atom_sites(sim, n, sites_before, &got));
    EXPECT(got == n);
    for (size_t i = 1; i < n; i++) EXPECT(sites_before[i] > sites_before[i - 1]);

    /* A struct of another layout (here: version unset) is refused, not overrun. */
    KmcObservables unset = {0};
    EXPECT(kmc_get_observables(sim, &unset) == KMC_STATUS_INVALID_ARGUMENT);
    EXPECT(strstr(kmc_last_error(), "KMC_OBSERVABLES_VERSION") != NULL);
    EXPECT(before.version == KMC_OBSERVABLES_VERSION && before.n_species <= KMC_MAX_SPECIES);

    /* Atoms back in, displaced by up to 0.1 A as an MD code would leave them, in reverse
     * order: sites[i] says where input atom i went, so atom identity survives the hand-over. */
    for (size_t i = 0; i < 3 * n; i++) pos[i] += 0.1 * sin((double)i);
    uint8_t *rev_species = malloc(n);
    double *rev_pos = malloc(3 * n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        rev_species[i] = species[n - 1 - i];
        memcpy(rev_pos + 3 * i, pos + 3 * (n - 1 - i), 3 * sizeof(double));
    }
    KmcMappingReport rep;
    CHECK(kmc_set_atoms(sim, n, rev_species, rev_pos, 0, sites, &rep));
    EXPECT(rep.off_lattice == 0 && rep.max_residual_a < 0.18);
    for (size_t i = 0; i < n; i++) EXPECT(sites[i] == sites_before[n - 1 - i]);
    free(rev_species);
    free(rev_pos);

    /* The film without the frozen substrate (layer 0, at z = 0) is refused: the substrate
     * would be deleted and never come back. */
    size_t n_film = 0;
    for (size_t i = 0; i < n; i++) {
        if (pos[3 * i + 2] > 0.5) {
            species[n_film] = species[i];
            memmove(pos + 3 * n_film, pos + 3 * i, 3 * sizeof(double));
            n_film++;
        }
    }
    EXPECT(n_film < n);
    EXPECT(kmc_set_atoms(sim, n_film, species, pos, 0, NULL, NULL) == KMC_STATUS_SIMULATION);
    EXPECT(strstr(kmc_last_error(), "frozen substrate") != NULL);
    printf("refused as expected: %s\n", kmc_last_error());
    CHECK(kmc_get_atoms(sim, n, species, pos, &got));
    EXPECT(got == n);
    for (size_t i = 0; i < 3 * n; i++) pos[i] += 0.1 * sin((double)i);
    KmcObservables after = {.version = KMC_OBSERVABLES_VERSION};
    CHECK(kmc_get_observables(sim, &after));
    EXPECT(after.atoms == before.atoms);
    EXPECT(after.film_atoms_by_species[0] == before.film_atoms_by_species[0]);
    EXPECT(after.film_atoms_by_species[1] == before.film_atoms_by_species[1]);
    EXPECT(fabs(after.coverage_ml - before.coverage_ml) < 1e-12);

    /* An atom half way between sites is refused, naming it; the state is unchanged. */
    pos[3 * 7] += 1.2;
    EXPECT(kmc_set_atoms(sim, n, species, pos, 0, NULL, NULL) == KMC_STATUS_SIMULATION);
    EXPECT(strstr(kmc_last_error(), "atom 7 ") != NULL);
    EXPECT(strstr(kmc_last_error(), "off the lattice") != NULL);
    EXPECT(strstr(kmc_last_error(), "nonzero accept_off_lattice in C") != NULL);
    /* So is an unknown species. */
    species[0] = 9;
    EXPECT(kmc_set_atoms(sim, n, species, pos, 0, NULL, NULL) == KMC_STATUS_SIMULATION);
    printf("refused as expected: %s\n", kmc_last_error());
    free(species);
    free(pos);
    free(sites);
    free(sites_before);

    /* Checkpoint to a buffer and a file; both resume bit-identically. */
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(kmc_checkpoint_to_buffer(sim, &buf, &len));
    char path[4096];
    snprintf(path, sizeof path, "%s/c_example.kmc", argv[2]);
    CHECK(kmc_checkpoint_save(sim, path));
    CHECK(kmc_run_events(sim, 300, NULL));
    KmcObservables end = {.version = KMC_OBSERVABLES_VERSION};
    CHECK(kmc_get_observables(sim, &end));

    CHECK(kmc_checkpoint_from_buffer(sim, buf, len));
    CHECK(kmc_run_events(sim, 300, NULL));
    KmcObservables again = {.version = KMC_OBSERVABLES_VERSION};
    CHECK(kmc_get_observables(sim, &again));
    EXPECT(again.time_s == end.time_s && again.events == end.events);
    EXPECT(again.roughness_ml == end.roughness_ml && again.islands == end.islands);

    CHECK(kmc_checkpoint_load(sim, path));
    CHECK(kmc_run_events(sim, 300, NULL));
    CHECK(kmc_get_observables(sim, &again));
    EXPECT(again.time_s == end.time_s && again.roughness_ml == end.roughness_ml);

    buf[len - 1] ^= 0x5a;
    EXPECT(kmc_checkpoint_from_buffer(sim, buf, len) == KMC_STATUS_CHECKPOINT);
    kmc_buffer_free(buf, len);

    /* Error paths: a malformed scenario names its line; null arguments are refused. */
    KmcSimulation *bad = NULL;
    EXPECT(kmc_simulation_new("(name: \"x\", seed: -1)", &bad) == KMC_STATUS_INPUT);
    EXPECT(bad == NULL);
    printf("bad scenario: %s\n", kmc_last_error());
    EXPECT(kmc_run_events(NULL, 1, NULL) == KMC_STATUS_NULL_ARGUMENT);
    EXPECT(kmc_simulation_from_file("/nonexistent/x.ron", &bad) == KMC_STATUS_IO);

    printf("%llu events, t = %.4f s, coverage %.3f ML, %llu islands\n",
           (unsigned long long)end.events, end.time_s, end.coverage_ml,
           (unsigned long long)end.islands);
    kmc_simulation_free(sim);
    kmc_simulation_free(NULL);
    printf("kmc_example: OK\n");
    return 0;
}
