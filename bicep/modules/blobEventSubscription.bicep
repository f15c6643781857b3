// Delivers BlobCreated events of the training-data container to the pipeline's blob trigger through the
// blobs extension webhook. Deployed only once the pipeline code runs (main.bicep's subscribeBlobEvents): Event
// Grid validates the endpoint when the subscription is created, and the blobs_extension system key exists
// only after the host has loaded a blob trigger. The key travels in the endpoint URL, which Event Grid stores
// write-only; it is never an output or an app setting.

param topicName string
param pipelineAppName string

@description('Name of the blob-triggered function ([Function] name in src/FunctionsLlm.Pipeline).')
param functionName string

@description('Container whose new blobs start a pipeline run.')
param containerName string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource pipeline 'Microsoft.Web/sites@2024-11-01' existing = {
  name: pipelineAppName
}

// The Functions host's keys (sites/host has no Bicep type to declare it as an existing resource).
var blobsExtensionKey = listKeys('${pipeline.id}/host/default', '2024-11-01').systemKeys.blobs_extension

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'training-data-to-pipeline'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${pipeline.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/blobs/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output name string = subscription.name
