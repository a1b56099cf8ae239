import { describeDestinationContract } from './describe';
import { sampleOptions, samplePlugin } from './sample-destination.spec-helper';

// The whole kit, every suite, against a destination that keeps the contract.
describeDestinationContract(samplePlugin, sampleOptions);
