use super::*;

const GOOD: &str = r#"(
    name: "t",
    seed: 1,
    temperature_k: 300.0,
    species: ["Cu", "Ag"],
    lattice: (kind: Fcc100, lattice_constant_a: 3.615, size: (8, 8), substrate_layers: 3),
    rate_model: BondCounting((
        species: { "Cu": (prefactor_hz: 1e13, barrier_ev: 0.48), "Ag": (prefactor_hz: 1e13, barrier_ev: 0.45) },
        bonds_ev: [("Cu", "Cu", 0.25), ("Cu", "Ag", 0.2), ("Ag", "Ag", 0.2)],
    )),
    deposition: [(species: "Ag", flux_ml_per_s: 1.0)],
    stop: (coverage_ml: Some(0.2)),
)"#;

fn err(text: &str) -> String {
    match LoadedScenario::from_text(text.to_string(), Some("s.ron".into())) {
        Ok(l) => crate::sim::Simulation::new(l)
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_scenario_parses_and_round_trips() {
    let l = LoadedScenario::from_text(GOOD.to_string(), None).unwrap();
    assert_eq!(l.scenario.species, ["Cu", "Ag"]);
    let again = LoadedScenario::from_value(l.scenario.clone()).unwrap();
    assert_eq!(again.scenario, l.scenario);
    assert_eq!(
        l.scenario.physics_fingerprint(),
        again.scenario.physics_fingerprint()
    );
    let mut other = l.scenario.clone();
    other.stop.coverage_ml = Some(5.0);
    assert_eq!(
        other.physics_fingerprint(),
        l.scenario.physics_fingerprint(),
        "stop does not change the physics"
    );
    other.temperature_k = 301.0;
    assert_ne!(
        other.physics_fingerprint(),
        l.scenario.physics_fingerprint()
    );
}

#[test]
fn errors_name_file_line_column_and_field() {
    let e = err(&GOOD.replace("flux_ml_per_s: 1.0", "flux_ml_per_s: -1.0"));
    assert_eq!(
        e,
        "s.ron:11:34: field `deposition[0].flux_ml_per_s`: must be a non-negative number of monolayers per second, got -1"
    );
    let e = err(&GOOD.replace("temperature_k: 300.0", "temperature_k: NaN"));
    assert!(e.starts_with("s.ron:4:5: field `temperature_k`"), "{e}");
    let e = err(&GOOD.replace("seed: 1,", "seed: 1, colour: 3,"));
    assert!(
        e.starts_with("s.ron:3:") && e.contains("unknown field `colour`"),
        "{e}"
    );
    let e = err(&GOOD.replace("kind: Fcc100", "kind: Hcp1010"));
    assert!(
        e.starts_with("s.ron:6:") && e.contains("unknown variant `Hcp1010`"),
        "{e}"
    );
    let e = err(&GOOD.replace("(species: \"Ag\"", "(species: \"Pt\""));
    assert!(
        e.starts_with("s.ron:11:") && e.contains("unknown species `Pt`"),
        "{e}"
    );
    let e = err(&GOOD.replace(
        "substrate_layers: 3)",
        "substrate_layers: 3, height_layers: 2)",
    ));
    assert!(
        e.contains("field `lattice.substrate_layers`") && e.contains("do not fit"),
        "{e}"
    );
    let e = err(&GOOD.replace("(\"Cu\", \"Ag\", 0.2), ", ""));
    assert!(
        e.contains("rate_model.BondCounting.bonds_ev")
            && e.contains("(Cu, Ag)")
            && e.starts_with("s.ron:9:"),
        "{e}"
    );
    let e = err(&GOOD.replace("seed: 1,", "seed: 1"));
    assert!(e.starts_with("s.ron:4:"), "{e}");
}
