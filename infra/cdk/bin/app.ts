#!/usr/bin/env node
// The CDK app: `npx cdk synth` / `npx cdk deploy` (see infra/README.md).
//
//   -c architecture=x86_64      Lambda architecture (default arm64)
//   -c stackName=embedcare-dev  stack name (default embedcare)
//   -c enableWaf=true           CloudFront + WAFv2 web ACL in front of the HTTP API
//                               (default false; parameters WebAclArn, WafRateLimit)
//
// EMBEDCARE_CDK_SKIP_BUNDLING=1 synthesises without building the Rust
// functions (no cargo-lambda needed): what infra/test.sh does.
import { App, Validations } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EmbedcareStack } from '../lib/embedcare-stack';

const skipBundling = process.env.EMBEDCARE_CDK_SKIP_BUNDLING === '1';
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});

const arch = String(app.node.tryGetContext('architecture') ?? 'arm64');
if (arch !== 'arm64' && arch !== 'x86_64') {
  throw new Error(`context architecture must be arm64 or x86_64, not ${arch}`);
}
const stackName = String(app.node.tryGetContext('stackName') ?? 'embedcare');
const waf = String(app.node.tryGetContext('enableWaf') ?? 'false');
if (waf !== 'true' && waf !== 'false') {
  throw new Error(`context enableWaf must be true or false, not ${waf}`);
}

new EmbedcareStack(app, 'Embedcare', {
  stackName,
  architecture: arch === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
  enableWaf: waf === 'true',
  description: 'embedcare: vendor API, DynamoDB table, outbox relay to EventBridge, schemas, alarms (CDK).',
});
// cdk-nag: any finding not acknowledged in lib/nag.ts fails synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
