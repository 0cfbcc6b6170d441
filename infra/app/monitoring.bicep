// Log Analytics workspace and workspace-based Application Insights. Local (key) auth is
// off on both: the app sends telemetry with its managed identity (Monitoring Metrics
// Publisher, rbac.bicep; APPLICATIONINSIGHTS_AUTHENTICATION_STRING, api.bicep).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

@allowed([
  30
  60
  90
  120
  180
  270
  365
  550
  730
])
@description('Days the logs are kept (the first 31 days are included in the ingestion price).')
param retentionDays int = 30

module workspace 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: 'log-analytics'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    skuName: 'PerGB2018'
    dataRetention: retentionDays
    // No customer-managed storage is linked; queries (and the workbook) must not need it.
    forceCmkForQuery: false
    features: {
      disableLocalAuth: true
    }
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'application-insights'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    kind: 'web'
    applicationType: 'web'
    workspaceResourceId: workspace.outputs.resourceId
    disableLocalAuth: true
    // Workspace-based: this sets the retention of its tables in the workspace.
    retentionInDays: retentionDays
  }
}

output logAnalyticsId string = workspace.outputs.resourceId
output applicationInsightsName string = applicationInsights.outputs.name
output applicationInsightsId string = applicationInsights.outputs.resourceId
output applicationInsightsConnectionString string = applicationInsights.outputs.connectionString
