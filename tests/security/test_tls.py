"""mqtts:// to a Mosquitto TLS listener, with a CA made here by openssl."""

import json
import logging
import subprocess

import pytest

from security_kit import Device, wait_until

pytestmark = pytest.mark.integration


KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", *KEY, "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    return folder


def make_server_cert(ca):
    openssl("req", *KEY, "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=ca)  # fmt: skip
    (ca / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
            cwd=ca)  # fmt: skip


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    village_ca = make_ca(root / "village-ca", "Village Brain test CA")
    make_server_cert(village_ca)
    other_ca = make_ca(root / "other-ca", "Someone else's CA")
    return village_ca, other_ca


@pytest.fixture
def tls_broker(start_broker, certificates):
    ca, _ = certificates
    return start_broker(
        extra_global=["allow_anonymous true"],
        extra_listener=[
            f"cafile {ca / 'ca.crt'}",
            f"certfile {ca / 'server.crt'}",
            f"keyfile {ca / 'server.key'}",
        ],
    )


def test_ingest_stores_readings_over_mqtts(tls_broker, certificates, start_service):
    ca, _ = certificates
    service = start_service(f"mqtts://127.0.0.1:{tls_broker.port}", mqtt={"ca_file": ca / "ca.crt"})
    gauge = Device(tls_broker.port, "tls-gauge", ca_file=ca / "ca.crt")
    gauge.publish("village/xiashan/tls-gauge/telemetry", json.dumps({"values": {"rssi": -71}}))
    wait_until(lambda: service.series.latest("tls-gauge"), what="the reading over TLS")
    gauge.close()


def test_a_broker_certificate_from_another_ca_is_refused_with_a_clear_error(
    tls_broker, certificates, start_service, caplog
):
    _, other = certificates
    caplog.set_level(logging.ERROR, logger="village_brain.ingest.mqtt_client")
    service = start_service(
        f"mqtts://127.0.0.1:{tls_broker.port}", wait=False, mqtt={"ca_file": other / "ca.crt"}
    )
    wait_until(lambda: "not trusted" in caplog.text, what="the TLS error in the log")
    assert "check mqtt.ca_file" in caplog.text
    assert not service.receiver.connected.is_set()
