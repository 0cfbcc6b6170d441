// The Flex Consumption plan (FC1, Linux) and the function app, with identity-based
// connections only. Flex Consumption rejects or ignores FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENT* and
// SCM_DO_BUILD_DURING_DEPLOYMENT: the runtime, the package and the build are in
// functionAppConfig instead, so none of them is set here.

param name string
param planName string
param location string
param tags object

@description('Container, queue and table names shared with storage.bicep (main.bicep).')
param names object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string
@description('Client id of that identity (identity-based connections pick it by client id).')
param identityClientId string

param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param applicationInsightsConnectionString string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@minValue(0)
param imageRetentionDays int = 0

@description('TAGGING_TRUST_PRINCIPAL_HEADER: true only behind App Service authentication (main.bicep).')
param trustPrincipalHeader bool = false

// The project's Python (pyproject.toml requires-python, CI): tests/infra checks it.
var pythonVersion = '3.11'

// The host's own storage (triggers, keys, leases) through the identity.
var hostStorageSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  // DefaultAzureCredential (azure-identity) picks the user-assigned identity by this.
  AZURE_CLIENT_ID: identityClientId
}

// Telemetry sent with the identity (local auth is off on Application Insights).
var monitoringSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

// Every TAGGING_* setting the app reads (tagging/settings.py, tagging/logs.py), so the portal
// shows what is in effect. TAGGING_DEFAULT_USER is deliberately absent: in Azure every
// request must carry an identity.
// TAGGING_TRUST_PRINCIPAL_HEADER is false unless trustPrincipalHeader says otherwise:
// without App Service authentication anyone can send X-MS-CLIENT-PRINCIPAL-ID and act as
// anyone, so the header is ignored and requests are refused (401). Once App Service
// authentication (Easy Auth) is enabled, it strips that header from outside requests and
// sets it for signed-in callers: then `azd env set TAGGING_TRUST_PRINCIPAL_HEADER true &&
// azd provision` (main.parameters.json), so that every later provision keeps it. The app
// trusts the header when the setting is absent, so it is always written.
var taggingSettings = {
  TAGGING_QUEUE: names.queue
  TAGGING_IMAGES_CONTAINER: names.imagesContainer
  TAGGING_THUMBNAILS_CONTAINER: names.thumbnailsContainer
  TAGGING_IMAGES_TABLE: names.imagesTable
  TAGGING_BATCHES_TABLE: names.batchesTable
  TAGGING_TAG_INDEX_TABLE: names.tagIndexTable
  TAGGING_FINGERPRINTS_TABLE: names.fingerprintsTable
  TAGGING_IDEMPOTENCY_TABLE: names.idempotencyTable
  TAGGING_SWEEP_STATE_TABLE: names.sweepStateTable
  // 'true' only behind App Service authentication (see above); spelled out in lower case,
  // as local.settings.json writes it.
  TAGGING_TRUST_PRINCIPAL_HEADER: trustPrincipalHeader ? 'true' : 'false'
  TAGGING_MAX_FILE_BYTES: '20971520'
  TAGGING_MAX_REQUEST_BYTES: '104857600'
  TAGGING_MAX_FILES: '100'
  TAGGING_MAX_IMAGE_PIXELS: '100000000'
  // The instance's memory (the Flex plan's size): the app sizes its per-process budget for
  // concurrent image decodes from it (tagging/core/analysis/budget.py; README "Instance
  // memory and concurrency"), next to host.json's batchSize + newBatchThreshold.
  TAGGING_INSTANCE_MEMORY_MB: string(instanceMemoryMB)
  TAGGING_SAS_TTL_SECONDS: '900'
  TAGGING_STORE_GPS: 'false'
  TAGGING_NSFW_THRESHOLD: '0.8'
  TAGGING_STORAGE_TIMEOUT_SECONDS: '10'
  // The Azure SDK's own loggers; at INFO every storage request would reach App Insights.
  TAGGING_SDK_LOG_LEVEL: 'WARNING'
  // Same number as the lifecycle rule (storage.bicep): the app answers url: null for an
  // image older than this instead of a link to a deleted blob. 0 = off.
  TAGGING_RETENTION_DAYS: string(imageRetentionDays)
  // The orphan sweeper (timer trigger): its NCRONTAB schedule, read by the host for
  // %TAGGING_SWEEP_SCHEDULE%, and its limits (tagging/services/sweeper.py).
  TAGGING_SWEEP_SCHEDULE: '0 */15 * * * *'
  TAGGING_SWEEP_GRACE_SECONDS: '600'
  TAGGING_SWEEP_STUCK_SECONDS: '3600'
  TAGGING_SWEEP_MAX_ITEMS: '500'
}

var appSettings = union(hostStorageSettings, monitoringSettings, taggingSettings)

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'flex-consumption-plan'
  params: {
    name: planName
    location: location
    tags: tags
    skuName: 'FC1'
    kind: 'functionapp'
    reserved: true
    zoneRedundant: false
  }
}

module site 'br/public:avm/res/web/site:0.24.0' = {
  name: 'function-app'
  params: {
    name: name
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    kind: 'functionapp,linux'
    serverFarmResourceId: plan.outputs.resourceId
    httpsOnly: true
    clientAffinityEnabled: false
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${names.deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    // Deployments go through the deployment container with the identity (azd); no
    // basic-auth publishing.
    basicPublishingCredentialsPolicies: [
      {
        name: 'ftp'
        allow: false
      }
      {
        name: 'scm'
        allow: false
      }
    ]
    configs: [
      {
        name: 'appsettings'
        properties: appSettings
        // Keeps settings added outside the IaC (e.g. the identity provider secret App
        // Service authentication stores as an app setting); every setting above is
        // still (re)written on each provision.
        retainCurrentAppSettings: true
      }
    ]
  }
}

output name string = site.outputs.name
output resourceId string = site.outputs.resourceId
output uri string = 'https://${site.outputs.defaultHostname}'
