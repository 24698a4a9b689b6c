#!/usr/bin/env bash
# The offline tests of embedcare's infrastructure: the SAM template
# (infra/template.yaml) and the CDK app (infra/cdk). No AWS account, no
# Docker, no cargo-lambda: only python3, node and npm. Installs what it needs
# on the way:
#   ${EMBEDCARE_CACHE:-~/.cache/embedcare}/infra-venv/sam      aws-sam-cli, cfn-lint (infra/requirements.txt)
#   ${EMBEDCARE_CACHE:-~/.cache/embedcare}/infra-venv/checkov  checkov (infra/requirements-checkov.txt)
#   infra/cdk/node_modules                                     npm ci (infra/cdk/package-lock.json)
set -euo pipefail
cd "$(dirname "$0")"
INFRA=$(pwd)
ROOT=$(cd .. && pwd)

# Nothing here may reach AWS or find real credentials.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN || true
# No telemetry, version checks or rule downloads (all would need the network).
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_VERSION_CHECK=1 BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

CACHE="${EMBEDCARE_CACHE:-$HOME/.cache/embedcare}"
VENVS="$CACHE/infra-venv"
START=$SECONDS
step() { printf '\n==> [infra %3ss] %s\n' "$((SECONDS - START))" "$*"; }

# A virtualenv per requirements file, reinstalled only when the file changes.
venv() {
  local dir="$VENVS/$1" req="$INFRA/$2" stamp
  stamp=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
  fi
  if [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$stamp" ]; then
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$stamp" >"$dir/.requirements.sha256"
  fi
}

step "Python tools in $VENVS (aws-sam-cli, cfn-lint; checkov)"
venv sam requirements.txt
venv checkov requirements-checkov.txt
SAM_BIN="$VENVS/sam/bin"
CHECKOV="$VENVS/checkov/bin/checkov"
"$SAM_BIN/sam" --version
"$SAM_BIN/cfn-lint" --version
"$CHECKOV" --version

step "npm ci (infra/cdk), when package-lock.json changed"
cd "$INFRA/cdk"
LOCK=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.package-lock.sha256 2>/dev/null)" != "$LOCK" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$LOCK" >node_modules/.package-lock.sha256
fi
npx --no-install cdk --version

step "SAM: cfn-lint infra/template.yaml"
cd "$INFRA"
"$SAM_BIN/cfn-lint" --config-file .cfnlintrc.yaml -- template.yaml

step "SAM: sam validate --lint"
"$SAM_BIN/sam" validate --lint -t template.yaml --region "$AWS_REGION"

step "CDK: typecheck (tsc --noEmit)"
cd "$INFRA/cdk"
npx --no-install tsc --noEmit -p .

step "CDK: cdk synth (bundling skipped; cdk-nag AwsSolutions must pass)"
rm -rf cdk.out
EMBEDCARE_CDK_SKIP_BUNDLING=1 npx --no-install cdk synth --quiet --no-notices -o cdk.out
CDK_TEMPLATE="$INFRA/cdk/cdk.out/Embedcare.template.json"
test -s "$CDK_TEMPLATE"

step "CDK: cdk synth -c enableWaf=true (CloudFront + web ACL; cdk-nag again)"
rm -rf cdk.out.waf
EMBEDCARE_CDK_SKIP_BUNDLING=1 npx --no-install cdk synth --quiet --no-notices -c enableWaf=true -o cdk.out.waf
CDK_WAF_TEMPLATE="$INFRA/cdk/cdk.out.waf/Embedcare.template.json"
test -s "$CDK_WAF_TEMPLATE"

step "CDK: cfn-lint on both synth outputs"
cd "$INFRA"
"$SAM_BIN/cfn-lint" --config-file .cfnlintrc.yaml -- "$CDK_TEMPLATE" "$CDK_WAF_TEMPLATE"

step "checkov on the three templates (skips and reasons: infra/.checkov.yaml)"
"$CHECKOV" --config-file .checkov.yaml -f template.yaml -f "$CDK_TEMPLATE" -f "$CDK_WAF_TEMPLATE"

step "CDK: assertions (node --test, aws-cdk-lib/assertions)"
cd "$INFRA/cdk"
node --import tsx --test test/*.test.ts

step "both: functions, routes, throttles, OpenAPI wiring, IAM key prefixes, secret, WAF, table, events, relay, notifier, alarms; drift SAM <-> CDK"
cd "$ROOT"
CDK_TEMPLATE="$CDK_TEMPLATE" CDK_WAF_TEMPLATE="$CDK_WAF_TEMPLATE" "$SAM_BIN/python" -m unittest -v infra/tests/test_templates.py

step "infrastructure checks passed in $((SECONDS - START)) s"
