// One user-assigned identity per app, so each gets only the roles it needs (access.bicep) and the apps can
// name their identity explicitly (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).

param location string
param tags object
param pipelineName string
param trainerName string
param inferenceName string

resource pipeline 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: pipelineName
  location: location
  tags: tags
}

resource trainer 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: trainerName
  location: location
  tags: tags
}

resource inference 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: inferenceName
  location: location
  tags: tags
}

output pipelineId string = pipeline.id
output pipelineClientId string = pipeline.properties.clientId
output trainerId string = trainer.id
output trainerClientId string = trainer.properties.clientId
output inferenceId string = inference.id
output inferenceClientId string = inference.properties.clientId
