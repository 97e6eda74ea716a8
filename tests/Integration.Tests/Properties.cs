// Each class starts its own Azurite and silos; on a 2-core machine they are steadier one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
