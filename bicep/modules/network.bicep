// The private path from the pipeline to the trainer. One virtual network with two subnets, both delegated to
// Microsoft.App/environments: the Flex Consumption pipeline's VNet integration, and the trainer's internal
// Container Apps environment. The trainer's environment has no public IP; its apps are reached through its
// static IP in the trainer subnet, under the environment's default domain (privateDns.bicep).

param location string
param tags object
param name string

@description('Address space of the virtual network; both subnets are carved from it.')
param addressPrefix string

@description('The pipeline\'s VNet integration subnet. Flex Consumption takes one address per instance: /24 covers maximumInstanceCount up to ~250.')
param pipelineSubnetPrefix string

@description('The trainer environment\'s infrastructure subnet: workload profiles need /27 or larger, and each serverless GPU replica takes an address.')
param trainerSubnetPrefix string

var delegatedToContainerApps = [
  {
    name: 'Microsoft.App.environments'
    properties: {
      serviceName: 'Microsoft.App/environments'
    }
  }
]

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'pipeline'
        properties: {
          addressPrefix: pipelineSubnetPrefix
          delegations: delegatedToContainerApps
          // The pipeline's outbound traffic (storage, Entra ID, Application Insights: public endpoints) leaves
          // through this subnet; default outbound access is explicit because new subnets may default to private.
          defaultOutboundAccess: true
        }
      }
      {
        name: 'trainer'
        properties: {
          addressPrefix: trainerSubnetPrefix
          delegations: delegatedToContainerApps
        }
      }
    ]
  }
}

output id string = network.id
// Built from the network's id (known before deployment) rather than read back, so what-if can follow them.
output pipelineSubnetId string = '${network.id}/subnets/pipeline'
output trainerSubnetId string = '${network.id}/subnets/trainer'
