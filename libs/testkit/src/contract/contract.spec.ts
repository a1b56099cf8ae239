import { describeDestinationContract } from './describe';
import { sampleOptions, samplePlugin, wholeOrNothingOptions, wholeOrNothingPlugin } from './sample-destination.spec-helper';

// The whole kit, every suite, against destinations that keep the contract.
describeDestinationContract(samplePlugin, sampleOptions);
describeDestinationContract(wholeOrNothingPlugin, wholeOrNothingOptions);
