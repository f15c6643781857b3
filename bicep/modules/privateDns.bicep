// Name resolution for the trainer's internal Container Apps environment: a private zone named after the
// environment's default domain, whose wildcard and apex records point at the environment's static IP, linked to
// the virtual network. The pipeline (VNet-integrated) then resolves FLM_TRAINER_URL,
// https://{trainer}.{defaultDomain}, to that private address; nothing outside the VNet resolves or reaches it.

param tags object

@description('The environment\'s default domain, e.g. happy-river-1234abcd.westus3.azurecontainerapps.io.')
param zoneName string

@description('The environment\'s static IP in the trainer subnet.')
param staticIp string

param virtualNetworkId string

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource wildcard 'Microsoft.Network/privateDnsZones/A@2024-06-01' = {
  parent: zone
  name: '*'
  properties: {
    ttl: 3600
    aRecords: [{ ipv4Address: staticIp }]
  }
}

resource apex 'Microsoft.Network/privateDnsZones/A@2024-06-01' = {
  parent: zone
  name: '@'
  properties: {
    ttl: 3600
    aRecords: [{ ipv4Address: staticIp }]
  }
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: 'vnet'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

output name string = zone.name
