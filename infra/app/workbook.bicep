// An Azure Monitor workbook over the app's structured logs in Application Insights:
// uploads, tagged, failed, upload -> tagged latency, tagging time, failure reasons and
// HTTP errors over time. Its queries are in tagging-workbook.json (tests/infra checks
// that every event and field they use is one the app logs).

param location string
param tags object

@description('Resource id of the Application Insights component the queries run against.')
param applicationInsightsId string

param displayName string = 'Image tagging pipeline'

var serializedData = replace(loadTextContent('tagging-workbook.json'), '__APPLICATION_INSIGHTS_ID__', applicationInsightsId)

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  // A workbook's name must be a GUID; this one is stable per resource group.
  name: guid(resourceGroup().id, 'image-tagging-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    version: '1.0'
    sourceId: applicationInsightsId
    serializedData: serializedData
  }
}

output id string = workbook.id
