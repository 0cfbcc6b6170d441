// The image tagging function app on Azure Functions Flex Consumption, for `azd up`.
// Creates one resource group with: a user-assigned identity, a storage account without
// shared keys (the host's storage, the deployment package, the app's containers, queues
// and tables), Log Analytics + Application Insights without local auth, the Flex
// Consumption plan and function app, the identity's data-plane roles and a workbook.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: part of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person deploying (azd sets AZURE_PRINCIPAL_ID). When set, they get the same blob, queue, table and metrics roles as the app, to look at the data; leave empty for none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal principalId names.')
param principalType string = 'User'

// Scale. Memory must hold what one instance runs at once. host.json lets the queue
// trigger hold batchSize 16 + newBatchThreshold 8 = up to 24 tag requests per instance;
// the Python worker runs them on its thread pool (PYTHON_THREADPOOL_THREAD_COUNT,
// default min(32, CPUs + 4)), so several images are decoded at the same time. One image
// is decoded once, reduced where the format allows (JPEG draft mode); a PNG or TIFF
// near TAGGING_MAX_IMAGE_PIXELS (100 MP) still needs about 3-4 bytes per pixel, i.e.
// 300-400 MB. 2048 MB (about 1 vCPU) holds the runtime, the classifier and a few such
// decodes at once; 512 MB (about 0.25 vCPU) does not hold two: with 512 MB lower
// TAGGING_MAX_IMAGE_PIXELS (e.g. 16 MP) or batchSize in host.json. The app sizes a
// per-process decode budget from this value (TAGGING_INSTANCE_MEMORY_MB).
@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance, in MB (see the concurrency note above).')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances Flex Consumption may scale out to (caps cost and the load on storage).')
param maximumInstanceCount int = 40

@minValue(0)
@maxValue(36500)
@description('Delete originals and thumbnails this many days after upload (lifecycle management); 0 keeps them forever. The app answers url: null for an image whose blob aged out.')
param imageRetentionDays int = 0

// TAGGING_TRUST_PRINCIPAL_HEADER. Without App Service authentication anyone can send
// X-MS-CLIENT-PRINCIPAL-ID and act as anyone, so the default is false (requests without
// an identity are refused). Set it true only after enabling App Service authentication
// (Easy Auth), which strips that header from outside requests and sets it for signed-in
// callers:
//   azd env set TAGGING_TRUST_PRINCIPAL_HEADER true && azd provision
// azd rewrites every app setting in this template on each provision, so a value set in
// the portal alone goes back to this parameter's value.
@description('Trust the X-MS-CLIENT-PRINCIPAL-ID header (TAGGING_TRUST_PRINCIPAL_HEADER). True only after enabling App Service authentication: azd env set TAGGING_TRUST_PRINCIPAL_HEADER true && azd provision.')
param trustPrincipalHeader bool = false

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'

// The names the app reads (TAGGING_* settings) and the IaC creates: defined once here.
var names = {
  deploymentContainer: 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
  imagesContainer: 'images'
  thumbnailsContainer: 'thumbnails'
  queue: 'tag-requests'
  imagesTable: 'Images'
  batchesTable: 'Batches'
  tagIndexTable: 'TagIndex'
  fingerprintsTable: 'Fingerprints'
  idempotencyTable: 'Idempotency'
  sweepStateTable: 'SweepState'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The app's identity: the host's storage, the deployment package, the app's data and
// Application Insights are all reached with it (no keys, no connection strings).
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.6.0' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    names: names
    imageRetentionDays: imageRetentionDays
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    names: names
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    imageRetentionDays: imageRetentionDays
    trustPrincipalHeader: trustPrincipalHeader
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_FUNCTION_APP_URL string = api.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
output AZURE_WORKBOOK_ID string = workbook.outputs.id
