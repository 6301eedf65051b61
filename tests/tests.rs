//! One integration test binary, made of modules (ripgrep's layout).

mod support;

mod bad_input;
mod capture;
mod cli;
mod completion;
mod deploy;
mod diff;
mod dns;
mod enforcement;
mod gateway;
mod hostile;
mod image;
mod ingress;
mod invariants;
mod kubectl;
mod live;
mod manifests;
mod netpol;
mod probe;
mod probe_flow;
mod reach;
mod real;
mod sarif;
mod scan;
mod scenarios;
mod suppression;
mod tiers;
