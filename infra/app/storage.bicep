// The storage account: the Functions host's own storage (azure-webjobs-* containers,
// created by the host), the deployment package container, and everything the app uses.
// Shared keys are off: the app and the host authenticate with the managed identity and
// read SAS URLs are user-delegation SAS.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string
param location string
param tags object

@description('Container, queue and table names shared with the app settings (main.bicep).')
param names object

@minValue(0)
@description('Delete originals and thumbnails this many days after upload; 0 = never.')
param imageRetentionDays int = 0

@description('Redundancy. LRS is the cheapest; choose ZRS or GRS for more durability.')
param skuName string = 'Standard_LRS'

// Soft delete: a deleted (or overwritten) blob and a deleted container can be restored
// for this many days; the lifecycle rule's deletions are soft deletes too.
var softDeleteDays = 7

// Only the app's own containers: the prefix is "<container>/", so it can never match the
// deployment package container or the host's azure-webjobs-* containers.
var retentionRules = [
  {
    name: 'delete-images-after-retention'
    enabled: true
    type: 'Lifecycle'
    definition: {
      filters: {
        blobTypes: [
          'blockBlob'
        ]
        prefixMatch: [
          '${names.imagesContainer}/'
          '${names.thumbnailsContainer}/'
        ]
      }
      actions: {
        baseBlob: {
          delete: {
            daysAfterCreationGreaterThan: imageRetentionDays
          }
        }
      }
    }
  }
]

module account 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'storage-account'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: skuName
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Public endpoint, identity-only: Flex Consumption without a VNet reaches storage over
    // it, and browsers fetch the read-only SAS URLs the app hands out.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      deleteRetentionPolicyEnabled: true
      deleteRetentionPolicyDays: softDeleteDays
      containerDeleteRetentionPolicyEnabled: true
      containerDeleteRetentionPolicyDays: softDeleteDays
      containers: [
        {
          name: names.deploymentContainer
          publicAccess: 'None'
        }
        {
          name: names.imagesContainer
          publicAccess: 'None'
        }
        {
          name: names.thumbnailsContainer
          publicAccess: 'None'
        }
      ]
    }
    queueServices: {
      queues: [
        {
          name: names.queue
        }
        {
          name: '${names.queue}-poison'
        }
      ]
    }
    tableServices: {
      tables: [
        {
          name: names.imagesTable
        }
        {
          name: names.batchesTable
        }
        {
          name: names.tagIndexTable
        }
        {
          name: names.fingerprintsTable
        }
        {
          name: names.idempotencyTable
        }
        {
          name: names.sweepStateTable
        }
      ]
    }
    managementPolicyRules: (imageRetentionDays > 0) ? retentionRules : null
  }
}

output name string = account.outputs.name
output resourceId string = account.outputs.resourceId
output blobEndpoint string = account.outputs.serviceEndpoints.blob
output queueEndpoint string = account.outputs.serviceEndpoints.queue
output tableEndpoint string = account.outputs.serviceEndpoints.table
