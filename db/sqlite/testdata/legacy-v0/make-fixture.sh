#!/usr/bin/env bash
# How store/labreview.sqlite and expected.json were made: a real data folder
# written by labreview at commit 80ebe03, the last version whose embedded
# store was FerretDB. Build that commit (git worktree add /tmp/old 80ebe03;
# cd /tmp/old; go build -o labreview-old .), then run this script in an
# empty folder with BIN pointing at it. Kept for the record; the tests use
# the committed files.
set -e
BIN=${BIN:?set BIN to a labreview binary built from commit 80ebe03}
export LABREVIEW_DATA_DIR=$PWD/data LABREVIEW_SERVER_ADDR=127.0.0.1:18601 LABREVIEW_LOG_FORMAT=json
$BIN serve --config /dev/null 2> server.log &
PID=$!
for i in $(seq 100); do grep -q setup_url server.log 2>/dev/null && break; sleep 0.1; done
TOKEN=$(grep -o 'setup?token=[^"]*' server.log | head -1 | cut -d= -f2)
U=http://localhost:18601
curl -sf -X POST $U/api/setup -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\",\"email\":\"ada@lab.test\",\"name\":\"Ada Admin\",\"password\":\"orbital-granite-lantern-42\"}" -o setup.json
A=$(python3 -c 'import json;print(json.load(open("setup.json"))["access_token"])')
printf '%s\n' 'quiet-meadow-harbor-1997' | $BIN user create --config /dev/null --email viewer@lab.test --name 'Vic Viewer' --role viewer --password-stdin
curl -s -o /dev/null -X POST $U/api/auth/login -d 'username=viewer@lab.test&password=wrong-password-here-1' 
curl -sf -o /dev/null -X POST $U/api/auth/login -d 'username=viewer@lab.test&password=quiet-meadow-harbor-1997'
VID=$(curl -sf $U/api/users -H "Authorization: Bearer $A" | python3 -c 'import json,sys;print([u["id"] for u in json.load(sys.stdin)["users"] if u["email"]=="viewer@lab.test"][0])')
curl -sf -o /dev/null -X PATCH $U/api/users/$VID -H "Authorization: Bearer $A" -H 'Content-Type: application/json' -d '{"role":"reviewer"}'
curl -sf -X POST $U/api/users -H "Authorization: Bearer $A" -H 'Content-Type: application/json' -d '{"email":"dis@lab.test","name":"Dee Disabled","role":"viewer","password":"lantern-harbor-orbit-77"}' -o dis.json
DID=$(python3 -c 'import json;print(json.load(open("dis.json"))["id"])')
curl -sf -o /dev/null -X PATCH $U/api/users/$DID -H "Authorization: Bearer $A" -H 'Content-Type: application/json' -d '{"disabled":true}'
$BIN keys rotate --config /dev/null
curl -sf $U/api/audit -H "Authorization: Bearer $A" > audit.json
curl -sf $U/api/users -H "Authorization: Bearer $A" > users.json
curl -sf $U/api/auth/jwks > jwks.json
kill -TERM $PID; wait $PID || true
ls -la data data/store
