"""The management HTTP API's policy endpoints, as RabbitMQ 3.10's management plugin answers them:
/api/policies[/{vhost}[/{name}]] with its status codes, JSON shapes and error bodies, Basic
authentication, and the /api/overview and /api/whoami that tools probe first. (What policies do
to queues is tested elsewhere.)"""

import base64
import uuid

import pytest

# A definition that is valid on both brokers; the pattern matches no queue other tests declare.
TTL = {"message-ttl": 60000}
NOT_FOUND = {"error": "Object Not Found", "reason": "Not Found"}


@pytest.fixture
def policy(management):
    """A fresh policy name in vhost "/", returned as its URL path; deleted after the test."""
    path = "/api/policies/%2F/mgmt-test-" + uuid.uuid4().hex[:12]
    yield path
    management.delete(path)


def pattern_of(path):
    return "^" + path.rsplit("/", 1)[1] + "$"


def test_put_creates_201_and_get_returns_it_with_defaults(management, policy):
    status, _, body = management.put(policy, {"pattern": pattern_of(policy), "definition": TTL})
    assert (status, body) == (201, None)
    status, headers, body = management.get(policy)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "vhost": "/",
        "name": policy.rsplit("/", 1)[1],
        "pattern": pattern_of(policy),
        "apply-to": "all",
        "definition": TTL,
        "priority": 0,
    }


def test_put_again_updates_with_204(management, policy):
    assert management.put(policy, {"pattern": "^a$", "definition": TTL})[0] == 201
    update = {
        "pattern": "^b$",
        "definition": {"max-length": 10, "overflow": "reject-publish"},
        "priority": 7,
        "apply-to": "queues",
    }
    status, _, body = management.put(policy, update)
    assert (status, body) == (204, None)
    _, _, body = management.get(policy)
    assert {k: body[k] for k in update} == update


def test_list_all_and_per_vhost(management, policy):
    assert management.put(policy, {"pattern": "^x$", "definition": TTL, "priority": 3})[0] == 201
    name = policy.rsplit("/", 1)[1]
    expected = {
        "vhost": "/",
        "name": name,
        "pattern": "^x$",
        "apply-to": "all",
        "definition": TTL,
        "priority": 3,
    }
    for path in ("/api/policies", "/api/policies/%2F"):
        status, _, body = management.get(path)
        assert status == 200
        assert isinstance(body, list)
        assert [p for p in body if p["name"] == name] == [expected]


def test_delete_is_204_then_404(management, policy):
    assert management.put(policy, {"pattern": "^x$", "definition": TTL})[0] == 201
    assert management.delete(policy)[::2] == (204, None)
    assert management.get(policy)[::2] == (404, NOT_FOUND)
    assert management.delete(policy)[::2] == (404, NOT_FOUND)
    name = policy.rsplit("/", 1)[1]
    assert [p for p in management.get("/api/policies/%2F")[2] if p["name"] == name] == []


def test_unknown_policy_and_vhost_are_404(management, policy):
    assert management.get(policy)[::2] == (404, NOT_FOUND)
    assert management.get("/api/policies/no-such-vhost")[::2] == (404, NOT_FOUND)
    assert management.get("/api/policies/no-such-vhost/p")[::2] == (404, NOT_FOUND)
    assert management.delete("/api/policies/no-such-vhost/p")[::2] == (404, NOT_FOUND)
    status, _, body = management.put(
        "/api/policies/no-such-vhost/p", {"pattern": "^x$", "definition": TTL}
    )
    assert (status, body) == (404, {"error": "not_found", "reason": "vhost_not_found"})


def test_names_are_percent_decoded(management):
    path = "/api/policies/%2F/mgmt%20test%2F" + uuid.uuid4().hex[:8]
    try:
        assert management.put(path, {"pattern": "^x$", "definition": TTL})[0] == 201
        status, _, body = management.get(path)
        assert status == 200
        assert body["name"].startswith("mgmt test/")
    finally:
        management.delete(path)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not json", "not_json"),
        ([1, 2], "not_json"),
        ({"definition": TTL}, "[{key_missing,pattern}]"),
        ({"pattern": "^x$"}, "[{key_missing,definition}]"),
        ({}, "[{key_missing,pattern},{key_missing,definition}]"),
        ({"pattern": "^x$", "definition": {}}, "Validation failed\n\nno policy provided\n"),
        (
            {"pattern": "^x$", "definition": {"message-ttl": "a"}},
            'Validation failed\n\n&lt;&lt;"a"&gt;&gt; is not a valid message TTL\n',
        ),
        (
            {"pattern": "^x$", "definition": TTL, "apply-to": "foo"},
            "Validation failed\n\napply-to 'foo' unrecognised; should be 'queues', 'exchanges' "
            "or 'all'\n",
        ),
        (
            {"pattern": "^x$", "definition": TTL, "priority": "a"},
            'Validation failed\n\npriority should be a number, actually was &lt;&lt;"a"&gt;&gt;\n',
        ),
        (
            {"pattern": 1, "definition": TTL},
            "Validation failed\n\npattern should be a binary but was 1\n",
        ),
    ],
)
def test_bad_bodies_are_400_with_rabbitmqs_reason(management, policy, body, reason):
    status, _, answer = management.put(policy, body)
    assert (status, answer) == (400, {"error": "bad_request", "reason": reason})
    assert management.get(policy)[0] == 404


@pytest.mark.parametrize(
    "definition, key",
    [({"max-priority": 5}, "max-priority"), ({"no-such-setting": 1}, "no-such-setting")],
)
def test_unrecognised_settings_are_400(management, policy, definition, key):
    status, _, answer = management.put(policy, {"pattern": "^x$", "definition": definition})
    assert status == 400
    assert answer["error"] == "bad_request"
    reason = answer["reason"]
    assert reason.startswith("Validation failed\n\n[")
    assert reason.endswith("] are not recognised policy settings\n")
    assert "&lt;&lt;&quot;" not in reason and '&lt;&lt;"%s"&gt;&gt;' % key in reason
    assert management.get(policy)[0] == 404


def test_no_credentials_is_401_with_a_challenge(management, policy):
    status, headers, body = management.get("/api/policies", auth=False)
    assert (status, body) == (401, None)
    assert headers["WWW-Authenticate"] == 'Basic realm="RabbitMQ Management"'


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_bad_credentials_are_401_login_failed(management, policy, method):
    body = {"pattern": "^x$", "definition": TTL} if method == "PUT" else None
    status, headers, answer = management.request(method, policy, body=body, password="wrong")
    assert (status, answer) == (401, {"error": "not_authorized", "reason": "Login failed"})
    assert headers["WWW-Authenticate"] == 'Basic realm="RabbitMQ Management"'
    status, _, _ = management.request(method, policy, body=body, user="no-such-user")
    assert status == 401
    assert management.get(policy)[0] == 404


def test_other_methods_are_405_with_allow(management, policy):
    status, headers, body = management.request("POST", policy, body={})
    assert (status, body) == (405, None)
    assert headers["Allow"] == "HEAD, GET, PUT, DELETE, OPTIONS"
    status, headers, body = management.request("DELETE", "/api/policies")
    assert (status, body) == (405, None)
    assert headers["Allow"] == "HEAD, GET, OPTIONS"


@pytest.mark.parametrize(
    "path, allow",
    [
        ("/api/policies", "HEAD, GET, OPTIONS"),
        ("/api/policies/%2F", "HEAD, GET, OPTIONS"),
        ("/api/policies/%2F/any", "HEAD, GET, PUT, DELETE, OPTIONS"),
    ],
)
def test_options_lists_the_methods_without_a_login(management, path, allow):
    status, headers, body = management.request("OPTIONS", path, auth=False)
    assert (status, body) == (200, None)
    assert headers["Allow"] == allow


def test_basic_credentials_without_a_colon_are_400(management):
    no_colon = {"Authorization": "Basic " + base64.b64encode(b"guestguest").decode()}
    status, _, _ = management.get("/api/policies", auth=False, headers=no_colon)
    assert status == 400


def test_head_is_get_without_a_body(management):
    _, got_headers, got = management.get("/api/whoami")
    status, headers, body = management.request("HEAD", "/api/whoami")
    assert (status, body) == (200, None)
    assert headers["Content-Length"] == got_headers["Content-Length"] != "0"
    assert got == {"name": "guest", "tags": ["administrator"]}


def test_unknown_path_is_404(management):
    assert management.get("/api/no-such-endpoint")[::2] == (404, NOT_FOUND)


def test_whoami(management):
    status, _, body = management.get("/api/whoami")
    assert (status, body) == (200, {"name": "guest", "tags": ["administrator"]})


def test_overview_names_versions(management):
    status, _, body = management.get("/api/overview")
    assert status == 200
    assert body["management_version"] == body["rabbitmq_version"] == "3.10.8"
    assert body["product_name"] in ("RabbitMQ", "Warren")
    assert isinstance(body["product_version"], str) and body["product_version"]


@pytest.mark.warren_only
def test_overview_names_warren(management):
    assert management.get("/api/overview")[2]["product_name"] == "Warren"
