#!/usr/bin/env bash
# Creates a TEST PKI for a ghostwatch fleet with openssl (EC P-256, fast):
#   ca.pem/ca.key                 the fleet CA (nats-server and every client trust only this)
#   server.pem/server.key         nats-server certificate, SAN 127.0.0.1 + localhost (+ $GW_SERVER_SANS)
#   agent-<host-id>.pem/.key      one client certificate per agent, subject CN=<host-id>: nats-server's
#                                 verify_and_map turns it into the user "CN=<host-id>", which may publish
#                                 only to ghostwatch.v1.telemetry.<host-id>
#   collector.pem/.key            the collector's client certificate, CN=ghostwatch-collector
#   tls-<host-id>/                that endpoint's agent.crt, agent.key and ca.crt: the names the agent's
#                                 config (deploy/ghostwatch.yaml, tls:) expects in /etc/ghostwatch/tls
#   other-ca.pem/.key             an unrelated CA, and other-agent.pem/.key (CN=<first host id>) signed
#                                 by it: a certificate the fleet must refuse (negative tests)
#
# usage: make-test-ca.sh OUTDIR [HOST_ID ...]      (default host ids: host-a host-b)
# Host ids are NATS subject tokens: letters, digits, '-' and '_', at most 64 characters.
# Production fleets issue these from their own PKI; this script is for tests and trials.
set -euo pipefail
# the host-id rule, from the folder above this script's (see host-id.sh)
# shellcheck source=../host-id.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../host-id.sh"

if (($# < 1)); then
	echo "usage: $0 OUTDIR [HOST_ID ...]" >&2
	exit 2
fi
out=$1
shift
hosts=("$@")
((${#hosts[@]})) || hosts=(host-a host-b)
days=${GW_CERT_DAYS:-30}

gw_check_host_ids "${hosts[@]}"

mkdir -p "$out"
cd "$out"
umask 077

newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# make_ca NAME CN
make_ca() {
	newkey "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}

# make_cert NAME CN CA EXTFILE-CONTENT
make_cert() {
	local name=$1 cn=$2 ca=$3 ext=$4
	newkey "$name.key"
	openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
	printf '%s\n' "$ext" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
		-sha256 -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

client_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

sans="IP:127.0.0.1,DNS:localhost${GW_SERVER_SANS:+,$GW_SERVER_SANS}"

make_ca ca "ghostwatch test fleet CA"
make_cert server "ghostwatch nats-server" ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans"
make_cert collector ghostwatch-collector ca "$client_ext"
for h in "${hosts[@]}"; do
	make_cert "agent-$h" "$h" ca "$client_ext"
done

make_ca other-ca "unrelated CA"
make_cert other-agent "${hosts[0]}" other-ca "$client_ext"

rm -f ./*.srl
chmod 600 ./*.key
chmod 644 ./*.pem

# Each endpoint's files under the names the agent's config expects (tls: in ghostwatch.yaml):
# copy tls-<host-id>/ to /etc/ghostwatch/tls/ on that host.
for h in "${hosts[@]}"; do
	install -d -m 0755 "tls-$h"
	install -m 0644 ca.pem "tls-$h/ca.crt"
	install -m 0644 "agent-$h.pem" "tls-$h/agent.crt"
	install -m 0600 "agent-$h.key" "tls-$h/agent.key"
done
echo "test PKI in $(pwd): ca.pem server.pem collector.pem ${hosts[*]/#/agent-} other-ca.pem" \
	"other-agent.pem; per endpoint (agent.crt agent.key ca.crt): ${hosts[*]/#/tls-}"
