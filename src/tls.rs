//! TLS certificates of Ingress secrets: the names they cover and when they are valid.

use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;

/// What matters of a serving certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// DNS names (SANs, else the subject's common name).
    pub names: Vec<String>,
    /// Validity, as Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// The first certificate of a PEM bundle (the leaf, by convention).
pub(crate) fn parse(pem: &[u8]) -> Result<CertInfo, String> {
    let (_, pem) = parse_x509_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .map(str::to_lowercase)
            .collect();
    }
    let v = cert.validity();
    Ok(CertInfo {
        names,
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
    })
}

/// Whether a certificate name covers a host: exact, or a wildcard `*.example.com` for exactly one
/// more label (`a.example.com`, not `example.com` nor `a.b.example.com`).
pub(crate) fn covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_lowercase(), host.to_lowercase());
    if name == host {
        return true;
    }
    match name.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("shop.example.com", "SHOP.example.com"));
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.shop.example.com"));
        assert!(!covers("other.example.com", "shop.example.com"));
    }

    #[test]
    fn reads_names_and_validity_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec![
            "shop.example.com".to_string(),
            "*.shop.example.com".to_string(),
        ])
        .unwrap();
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = parse(cert.pem().as_bytes()).unwrap();
        assert_eq!(info.names, vec!["shop.example.com", "*.shop.example.com"]);
        assert_eq!(info.not_before, 1_735_689_600);
        assert_eq!(info.not_after, 1_893_456_000);
        assert!(
            parse(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(parse(b"garbage").is_err());
    }
}
