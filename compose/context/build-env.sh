# Sourced by compose/Dockerfile's RUN steps: where pip installs from and which CA it trusts.
# shellcheck shell=sh
context=/tmp/context
if ls "$context"/wheels/*.whl >/dev/null 2>&1; then
  PIP_SOURCE="--no-index --find-links $context/wheels"
else
  PIP_SOURCE=""
fi
export PIP_SOURCE
if [ -n "${EXTRA_CA_BUNDLE:-}" ]; then
  if [ ! -s "$context/$EXTRA_CA_BUNDLE" ]; then
    echo "EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE: no such file in compose/context/" >&2
    exit 1
  fi
  PIP_CERT="$context/$EXTRA_CA_BUNDLE"
  export PIP_CERT SSL_CERT_FILE="$PIP_CERT" REQUESTS_CA_BUNDLE="$PIP_CERT" NODE_EXTRA_CA_CERTS="$PIP_CERT"
fi
