//! TLS trust when the user gives extra certificates (`--extra-ca`): the platform's roots
//! plus those certificates as roots, and each of them also accepted as the server's own
//! certificate. A self-signed endpoint certificate made by `openssl req -x509` carries
//! `CA:TRUE`, which WebPKI refuses as an end entity (CaUsedAsEndEntity) although the user
//! trusted exactly that certificate; Microsoft's own SDKs (OpenSSL) accept it. A
//! TLS-inspecting proxy's CA plus leaf keeps verifying as a normal chain. Such a pinned CA
//! certificate is checked here without asking the platform verifier first, which would log
//! its refusal as an ERROR on every connection that then succeeds.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// A rustls client configuration trusting the platform roots and `extra`.
pub(crate) fn client_config(
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let platform =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone())?;
    let verifier = ExtraTrust {
        platform,
        pinned: extra,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform verifier (with the extra roots), and the extra certificates themselves
/// accepted as the end entity when the chain check refuses them, for the right host only.
#[derive(Debug)]
struct ExtraTrust {
    platform: rustls_platform_verifier::Verifier,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for ExtraTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Exactly a certificate the user trusted, marked CA:TRUE, presented as the server's
        // own: WebPKI refuses it (CaUsedAsEndEntity), and the platform verifier logs each
        // refusal as an ERROR, so it is checked here without asking it. Every other
        // certificate, and its real failures, stay the platform verifier's.
        let pinned_ca = self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
            && x509_parser::parse_x509_certificate(end_entity.as_ref())
                .is_ok_and(|(_, cert)| cert.is_ca());
        if !pinned_ca {
            return self.platform.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        }
        let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding);
        let (_, cert) =
            x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| bad())?;
        // Still for this host only, and only while it is valid (what WebPKI would check
        // before refusing it as a CA).
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let at =
            x509_parser::time::ASN1Time::from_timestamp(now.as_secs() as i64).map_err(|_| bad())?;
        let validity = cert.validity();
        if !validity.is_valid_at(at) {
            return Err(rustls::Error::InvalidCertificate(
                if at < validity.not_before {
                    rustls::CertificateError::NotValidYet
                } else {
                    rustls::CertificateError::Expired
                },
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// The DER certificates of a PEM bundle.
pub(crate) fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// Whether a test runs under Wine, whose chain engine refuses extra roots; shared with tests/.
#[cfg(test)]
#[path = "../../tests/common/wine.rs"]
mod wine;

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed `CA:TRUE` certificate for localhost, valid from `from` to `to` days
    /// around now (what `openssl req -x509` makes, with chosen dates).
    fn self_signed(from: i64, to: i64) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let day = |days: i64| {
            let now = rcgen::date_time_ymd(2026, 6, 1);
            let span = std::time::Duration::from_secs(days.unsigned_abs() * 86_400);
            if days < 0 { now - span } else { now + span }
        };
        params.not_before = day(from);
        params.not_after = day(to);
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verify(
        cert: &CertificateDer<'static>,
        host: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let trust = ExtraTrust {
            platform: rustls_platform_verifier::Verifier::new_with_extra_roots(
                vec![cert.clone()],
                provider,
            )?,
            pinned: vec![cert.clone()],
        };
        // 2026-06-01 plus one day: inside [from, to] when from < 1 < to.
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_358_400));
        trust.verify_server_cert(
            cert,
            &[],
            &ServerName::try_from(host.to_string()).unwrap(),
            &[],
            now,
        )
    }

    #[test]
    fn a_pinned_ca_certificate_is_the_servers_own_only_for_its_host_and_while_valid() {
        let valid = self_signed(-10, 10);
        let verified = verify(&valid, "localhost");
        if let Err(e) = &verified
            && super::wine::refused_extra_roots(&e.to_string())
        {
            return;
        }
        assert!(verified.is_ok(), "{verified:?}");
        assert!(verify(&valid, "graph.example").is_err(), "another host");
        let expired = self_signed(-10, -2);
        assert!(
            matches!(
                verify(&expired, "localhost"),
                Err(rustls::Error::InvalidCertificate(_))
            ),
            "an expired pinned certificate is refused: {:?}",
            verify(&expired, "localhost")
        );
    }
}
